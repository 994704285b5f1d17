/**
 * How docker prints a container in `ps`: the relative times of go-units' `HumanDuration`
 * ("Up 3 minutes", "About an hour ago"), the Status column, and the quoted, truncated command.
 * A model file: the CLI renders pier's records with it as the Docker API renders its own. Pure.
 */

/** go-units' `HumanDuration` of `ms`: "Less than a second", "About a minute", "3 hours", "2 weeks". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(Math.max(0, ms) / 1000);
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(seconds / 3600 + 0.5);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/** What the Status column needs of a container. */
export interface StatusFields {
  status: string;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
}

/**
 * Docker's Status column: `Up 3 seconds`, `Exited (0) 2 minutes ago`, `Created`, `Removal In
 * Progress`; `health` is the `(healthy)` suffix of a running container (see `healthSuffix`).
 */
export function statusText(r: StatusFields, nowMs = Date.now(), health = ""): string {
  if (r.status === "running") return `Up ${humanDuration(nowMs - Date.parse(r.startedAt))}${health}`;
  if (r.status === "exited")
    return `Exited (${r.exitCode}) ${humanDuration(nowMs - Date.parse(r.finishedAt))} ago`;
  if (r.status === "removing") return "Removal In Progress";
  return "Created";
}

/** The COMMAND column: quoted, cut to 20 characters with "…" unless `full` (`--no-trunc`). */
export function commandColumn(command: string, full = false): string {
  const cut = !full && [...command].length > 20 ? `${[...command].slice(0, 19).join("")}…` : command;
  return JSON.stringify(cut);
}

/** The `(healthy)` part of a running container's Status (`health: starting` while starting), or "". */
export function healthSuffix(h: { Status: string } | null | undefined): string {
  if (!h) return "";
  return h.Status === "starting" ? " (health: starting)" : ` (${h.Status})`;
}

/** A time as docker's templates print `CreatedAt`: `2024-01-02 15:04:05 +0000 UTC`. */
export function dockerTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? "" : `${new Date(t).toISOString().slice(0, 19).replace("T", " ")} +0000 UTC`;
}

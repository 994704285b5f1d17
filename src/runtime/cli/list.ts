/**
 * `list`: every container under the state root, as runc's table or JSON.
 */
import type { RuntimeContext } from "../lifecycle/context.js";

/** One row of `list` (runc's JSON field names). */
export interface ListRow {
  ociVersion: string;
  id: string;
  pid: number;
  status: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

/** Reads every container's row. */
export async function listContainers(ctx: RuntimeContext): Promise<ListRow[]> {
  const rows: ListRow[] = [];
  for (const id of await ctx.store.ids()) {
    try {
      const c = await ctx.store.load(id);
      const s = ctx.store.state(c);
      rows.push({
        ociVersion: s.ociVersion,
        id,
        pid: s.pid,
        status: s.status,
        bundle: c.bundle,
        rootfs: c.rootfs,
        created: c.created,
        owner: c.owner,
        ...(s.annotations ? { annotations: s.annotations } : {}),
      });
    } catch {
      // A container deleted while listing is simply not listed.
    }
  }
  return rows;
}

/** Formats rows as runc prints them (tabwriter table, `null` for an empty JSON list). */
export function formatList(rows: ListRow[], format: string, quiet: boolean): string {
  if (quiet) return rows.map((r) => `${r.id}\n`).join("");
  if (format === "json") return `${rows.length ? JSON.stringify(rows) : "null"}\n`;
  const table = [
    ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
    ...rows.map((r) => [r.id, String(r.pid), r.status, r.bundle, r.created, r.owner]),
  ];
  const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? "").length)) + 2) ?? [];
  return (
    table
      .map((row) =>
        row
          .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(Math.max(widths[i] ?? 0, 12))))
          .join("")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

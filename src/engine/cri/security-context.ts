/**
 * A CRI security context (`LinuxContainerSecurityContext`, `LinuxSandboxSecurityContext`) as the
 * engine's security settings (`security.ts`, the model `docker run` fills): user and groups,
 * capabilities, privileged, read-only root, no_new_privs, seccomp (RuntimeDefault is Docker's
 * default profile, compiled by pier), AppArmor as containerd treats it on a host without it,
 * masked and read-only paths. What pier cannot apply is refused naming the field. The namespace
 * modes depend on the pod and are mapped by the callers. Pure, given `readProfile`.
 */
import { CriError } from "./error.js";
import { bool, msg, num, str, strs } from "./fields.js";
import type { Message } from "./grpc.js";

/** The largest seccomp profile read from the node (Docker's default profile is ~20 KiB). */
export const MAX_SECCOMP_PROFILE = 1024 * 1024;

/** What {@link mapSecurityContext} needs besides the message. */
export interface SecurityContextInputs {
  /** The message's dotted path, for errors (`config.linux.security_context`). */
  field: string;
  /** The host enforces AppArmor (`/sys/module/apparmor/parameters/enabled` says Y). */
  appArmor: boolean;
  /** Reads a Localhost seccomp profile from the node (the kubelet's seccomp root). */
  readProfile(path: string): string;
}

/** The engine's view of a security context: its `security` settings and user. */
export interface MappedSecurity {
  /** The engine's `security` input (see `parseSecurity`). */
  security: Record<string, unknown>;
  /** `uid[:gid]` or `name[:gid]`, or undefined for the image's user. */
  user?: string;
}

const invalid = (message: string): never => {
  throw new CriError("INVALID_ARGUMENT", message);
};

/** The user a security context asks for (`uid[:gid]` or `name[:gid]`), or undefined. Pure. */
export function criUser(sc: Message | undefined, field: string): string | undefined {
  const uid = msg(sc, "run_as_user");
  const gid = msg(sc, "run_as_group");
  const name = str(sc, "run_as_username");
  if (uid && name) invalid(`${field}: run_as_user and run_as_username cannot both be set`);
  if (gid && !uid && !name) invalid(`${field}.run_as_group needs run_as_user or run_as_username`);
  const id = (m: Message, what: string): number => {
    const n = num(m, "value");
    if (n < 0 || n > 2 ** 32 - 2) invalid(`${field}.${what}: ${n} is not a valid id`);
    return n;
  };
  const user = uid ? String(id(uid, "run_as_user")) : name || undefined;
  if (user === undefined) return undefined;
  return gid ? `${user}:${id(gid, "run_as_group")}` : user;
}

/**
 * The `--security-opt seccomp=…` a profile asks for: none (Docker's default profile) for
 * RuntimeDefault, `unconfined`, or the JSON of a Localhost profile read from the node. The
 * deprecated `seccomp_profile_path` counts only when `seccomp` is unset; neither set means
 * unconfined, as the CRI says ("" is identical with unconfined). Pure, given `readProfile`.
 */
export function seccompOption(sc: Message | undefined, inputs: SecurityContextInputs): string | undefined {
  const profile = msg(sc, "seccomp");
  if (profile) {
    const type = String(profile.profile_type ?? "RuntimeDefault");
    const ref = str(profile, "localhost_ref");
    if (type !== "Localhost" && ref)
      invalid(`${inputs.field}.seccomp.localhost_ref is only for the Localhost profile type`);
    if (type === "RuntimeDefault") return undefined;
    if (type === "Unconfined") return "seccomp=unconfined";
    if (type === "Localhost") return localhostProfile(ref, `${inputs.field}.seccomp.localhost_ref`, inputs);
    return invalid(`${inputs.field}.seccomp.profile_type ${type} is not a profile type`);
  }
  const legacy = str(sc, "seccomp_profile_path");
  if (legacy === "" || legacy === "unconfined") return "seccomp=unconfined";
  if (legacy === "runtime/default" || legacy === "docker/default") return undefined;
  if (legacy.startsWith("localhost/"))
    return localhostProfile(
      legacy.slice("localhost/".length),
      `${inputs.field}.seccomp_profile_path`,
      inputs,
    );
  return invalid(`${inputs.field}.seccomp_profile_path ${JSON.stringify(legacy)} is not a profile`);
}

function localhostProfile(path: string, field: string, inputs: SecurityContextInputs): string {
  if (!path.startsWith("/")) invalid(`${field} ${JSON.stringify(path)}: must be an absolute path`);
  let text: string;
  try {
    text = inputs.readProfile(path);
  } catch (err) {
    return invalid(`${field}: cannot read the seccomp profile ${path}: ${(err as Error).message}`);
  }
  return `seccomp=${text}`;
}

/**
 * AppArmor as containerd takes it: on a host without AppArmor, RuntimeDefault and Unconfined
 * are nothing to apply (skipped); a Localhost profile cannot be applied, so it is refused. On a
 * host with AppArmor, pier applies no profile: only Unconfined is what pier gives. Pure.
 */
export function checkAppArmor(sc: Message | undefined, inputs: SecurityContextInputs): string[] {
  const profile = msg(sc, "apparmor");
  const legacy = str(sc, "apparmor_profile");
  let type: string;
  let field = `${inputs.field}.apparmor`;
  if (profile) type = String(profile.profile_type ?? "RuntimeDefault");
  else if (legacy === "" || legacy === "runtime/default") type = "RuntimeDefault";
  else if (legacy === "unconfined") type = "Unconfined";
  else {
    type = "Localhost";
    field = `${inputs.field}.apparmor_profile`;
  }
  if (type === "Unconfined") return inputs.appArmor ? ["apparmor=unconfined"] : [];
  if (type === "RuntimeDefault") {
    // containerd skips it where the host has no AppArmor; pier has no profile of its own to load.
    if (inputs.appArmor && (profile || legacy))
      invalid(`${field}: pier does not load AppArmor profiles (this host enforces AppArmor); use Unconfined`);
    return [];
  }
  if (type === "Localhost")
    return invalid(
      `${field}: the Localhost AppArmor profile ${JSON.stringify(str(profile, "localhost_ref") || legacy)} cannot be applied: ${inputs.appArmor ? "pier does not load AppArmor profiles" : "this host has no AppArmor"}`,
    );
  return invalid(`${field}.profile_type ${type} is not a profile type`);
}

/** Refuses SELinux options unless empty (pier applies no SELinux labels). Pure. */
export function checkSelinux(sc: Message | undefined, field: string): void {
  const se = msg(sc, "selinux_options");
  for (const k of ["user", "role", "type", "level"])
    if (str(se, k)) invalid(`${field}.selinux_options.${k}: pier does not apply SELinux labels`);
}

/** The supplemental groups (`--group-add` ids); Strict is refused (pier merges the image's). */
function groups(sc: Message | undefined, field: string): string[] {
  const policy = String(sc?.supplemental_groups_policy ?? "Merge");
  if (policy !== "Merge")
    invalid(
      `${field}.supplemental_groups_policy ${policy}: pier merges the image's groups of the user (only Merge)`,
    );
  return strs(sc, "supplemental_groups").map((g) => {
    if (!/^\d+$/.test(g) || Number(g) > 2 ** 31 - 1)
      invalid(`${field}.supplemental_groups: ${g} is not a valid group id`);
    return g;
  });
}

/**
 * A container's security context as the engine's settings. `ALL` and names with or without
 * `CAP_` are taken as Docker takes them; ambient capabilities are refused (the engine raises
 * none). Pure, given `inputs.readProfile`.
 */
export function mapSecurityContext(sc: Message | undefined, inputs: SecurityContextInputs): MappedSecurity {
  const { field } = inputs;
  checkSelinux(sc, field);
  const caps = msg(sc, "capabilities");
  if (strs(caps, "add_ambient_capabilities").length)
    invalid(`${field}.capabilities.add_ambient_capabilities: pier raises no ambient capabilities`);
  const privileged = bool(sc, "privileged");
  const securityOpt: string[] = [];
  const seccomp = seccompOption(sc, inputs);
  if (seccomp) securityOpt.push(seccomp);
  if (bool(sc, "no_new_privs")) securityOpt.push("no-new-privileges");
  // A privileged container has no AppArmor confinement: the profile has no effect (CRI).
  if (!privileged) securityOpt.push(...checkAppArmor(sc, inputs));
  const add = strs(caps, "add_capabilities");
  const drop = strs(caps, "drop_capabilities");
  const groupAdd = groups(sc, field);
  const security: Record<string, unknown> = {
    ...(privileged ? { privileged: true } : {}),
    ...(add.length ? { capAdd: add } : {}),
    ...(drop.length ? { capDrop: drop } : {}),
    ...(bool(sc, "readonly_rootfs") ? { readonlyRootfs: true } : {}),
    ...(securityOpt.length ? { securityOpt } : {}),
    ...(groupAdd.length ? { groupAdd } : {}),
  };
  // The kubelet sends the default lists (its own copy of Docker's): as given, when given.
  if (sc && "masked_paths" in sc) security.maskedPaths = strs(sc, "masked_paths");
  if (sc && "readonly_paths" in sc) security.readonlyPaths = strs(sc, "readonly_paths");
  const user = criUser(sc, field);
  return { security, ...(user ? { user } : {}) };
}

/** The user-namespace option of a pod: only the node's (pier never remaps users). Pure. */
export function checkUserNamespace(ns: Message | undefined, field: string): void {
  const userns = msg(ns, "userns_options");
  if (!userns) return;
  const mode = String(userns.mode ?? "POD");
  if (mode !== "NODE")
    invalid(`${field}.userns_options.mode ${mode}: pier runs pods in the node's user namespace (only NODE)`);
  if (Array.isArray(userns.uids) && userns.uids.length)
    invalid(`${field}.userns_options.uids: no mappings with NODE`);
  if (Array.isArray(userns.gids) && userns.gids.length)
    invalid(`${field}.userns_options.gids: no mappings with NODE`);
}

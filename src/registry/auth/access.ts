/**
 * Access rules of the registry, pure and deciding only: which actions a user (or an anonymous
 * client) may take on a repository. A rule maps repository globs to users and groups and the
 * actions they get; actions granted by several rules add up.
 */

/** An action on a repository, as Docker's token scopes name them. */
export type RepoAction = "pull" | "push" | "delete";

/** All repository actions. */
export const REPO_ACTIONS: readonly RepoAction[] = ["pull", "push", "delete"];

/** One access rule. */
export interface AccessRule {
  /** Repository name globs: `*` matches within one path component, `**` across components. */
  repositories: string[];
  /** User names the rule applies to (`*` for every authenticated user). */
  users?: string[];
  /** Group names the rule applies to. */
  groups?: string[];
  /** Actions granted. */
  actions: RepoAction[];
}

/** The access policy: rules, group membership, and whether anonymous clients may pull. */
export interface AccessPolicy {
  rules?: AccessRule[];
  /** Group name -> member user names. */
  groups?: Record<string, string[]>;
  /** Lets clients without credentials pull every repository. */
  anonymousPull?: boolean;
}

/** Compiles a repository glob to an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        re += ".*";
        i++;
      } else {
        re += "[^/]*";
      }
    } else {
      re += c.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
    }
  }
  return new RegExp(`^${re}$`);
}

/**
 * Decides access. Without rules, every authenticated user may do everything; with rules, a user
 * gets exactly what the matching rules grant. Anonymous clients get `pull` when
 * `anonymousPull` is set, else nothing.
 */
export class AccessController {
  private readonly rules: {
    repos: RegExp[];
    users: Set<string>;
    groups: Set<string>;
    actions: RepoAction[];
  }[];
  private readonly memberOf = new Map<string, Set<string>>();
  private readonly anonymousPull: boolean;
  private readonly open: boolean;

  constructor(policy: AccessPolicy = {}) {
    this.rules = (policy.rules ?? []).map((r) => ({
      repos: r.repositories.map(globToRegExp),
      users: new Set(r.users ?? []),
      groups: new Set(r.groups ?? []),
      actions: r.actions,
    }));
    this.open = policy.rules === undefined || policy.rules.length === 0;
    for (const [group, members] of Object.entries(policy.groups ?? {})) {
      for (const m of members) {
        const set = this.memberOf.get(m) ?? new Set<string>();
        set.add(group);
        this.memberOf.set(m, set);
      }
    }
    this.anonymousPull = policy.anonymousPull ?? false;
  }

  /** The actions `user` (`undefined` for anonymous) may take on `repo`. */
  allowed(user: string | undefined, repo: string): Set<RepoAction> {
    const out = new Set<RepoAction>();
    if (user === undefined) {
      if (this.anonymousPull) out.add("pull");
      return out;
    }
    if (this.open) return new Set(REPO_ACTIONS);
    const groups = this.memberOf.get(user);
    for (const rule of this.rules) {
      const applies =
        rule.users.has("*") ||
        rule.users.has(user) ||
        (groups !== undefined && [...groups].some((g) => rule.groups.has(g)));
      if (!applies || !rule.repos.some((re) => re.test(repo))) continue;
      for (const a of rule.actions) out.add(a);
    }
    return out;
  }

  /** True when `user` may take `action` on `repo`. */
  can(user: string | undefined, repo: string, action: RepoAction): boolean {
    return this.allowed(user, repo).has(action);
  }
}

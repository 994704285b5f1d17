import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { isErrno } from "../../errors.js";
import { RegistryError } from "../errors.js";
import { BcryptPool } from "./bcrypt-pool.js";

// The cost Apache's `htpasswd -B` and distribution's examples use.
const BCRYPT_COST = 10;

/** Parses htpasswd text into user -> bcrypt hash; only bcrypt (`$2a$`/`$2b$`/`$2y$`) lines are accepted. */
export function parseHtpasswd(text: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (colon <= 0 || !/^\$2[aby]\$\d\d\$/.test(hash)) {
      throw new RegistryError(
        "UNSUPPORTED",
        `htpasswd line ${i + 1}: only "user:bcrypt-hash" entries are supported`,
        {
          status: 500,
        },
      );
    }
    users.set(user, hash);
  }
  return users;
}

// A successful check is trusted again without bcrypt for this long (a client sends its
// credentials on every request), and at most this many are remembered.
const VERIFIED_TTL_MS = 5 * 60_000;
const VERIFIED_MAX = 10_000;

/** The cost of `$2b$12$…`; `undefined` for a malformed hash. */
function costOf(hash: string): number | undefined {
  const m = /^\$2[aby]\$(\d\d)\$/.exec(hash);
  return m ? Number(m[1]) : undefined;
}

/**
 * Users and bcrypt hashes from an htpasswd file, checked on a {@link BcryptPool} so that the
 * tens of milliseconds each bcrypt compare costs never block the server. Guarantees:
 * - an unknown user costs one bcrypt compare too (against a dummy hash of the file's usual cost),
 *   so the answer time does not tell which user names exist;
 * - a successful check is remembered for a few minutes, keyed by an HMAC (with a per-process
 *   random key) of user, password and hash — never the password itself — so the credentials a
 *   client repeats on every request cost no bcrypt; failures are never remembered;
 * - concurrent checks of the same credentials share one bcrypt compare.
 */
export class Htpasswd {
  private readonly users: Map<string, string>;
  private readonly pool: BcryptPool;
  private readonly secret = randomBytes(32);
  private readonly verified = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<boolean>>();
  private dummy: Promise<string> | undefined;

  constructor(users: Map<string, string>, pool: BcryptPool = new BcryptPool()) {
    this.users = users;
    this.pool = pool;
  }

  /** Loads a file; a missing file is an empty user list. */
  static load(file: string, pool?: BcryptPool): Htpasswd {
    try {
      return new Htpasswd(parseHtpasswd(readFileSync(file, "utf8")), pool);
    } catch (err) {
      if (isErrno(err, "ENOENT")) return new Htpasswd(new Map(), pool);
      throw err;
    }
  }

  private key(user: string, password: string, hash: string): string {
    return createHmac("sha256", this.secret).update(`${user}\0${password}\0${hash}`).digest("base64");
  }

  /** True when these credentials were verified within the last few minutes (costs no bcrypt). */
  isRemembered(user: string, password: string): boolean {
    const hash = this.users.get(user);
    if (hash === undefined) return false;
    const key = this.key(user, password, hash);
    const until = this.verified.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.verified.delete(key);
    return false;
  }

  /** True when the user exists and the password matches its hash. */
  async verify(user: string, password: string): Promise<boolean> {
    if (this.isRemembered(user, password)) return true;
    // Clients open several connections at once with the same credentials (a push): one bcrypt
    // answers them all. Unknown users coalesce the same way, so concurrency tells nothing either.
    const hash = this.users.get(user);
    const key = this.key(user, password, hash ?? "");
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.check(password, hash).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const ok = await pending;
    if (ok && hash !== undefined) {
      if (this.verified.size >= VERIFIED_MAX) this.verified.clear();
      this.verified.set(key, Date.now() + VERIFIED_TTL_MS);
    }
    return ok;
  }

  // One bcrypt compare: against the user's hash, or a dummy one for an unknown user.
  private async check(password: string, hash: string | undefined): Promise<boolean> {
    if (hash === undefined) {
      await this.pool.compare(password, await this.dummyHash());
      return false;
    }
    return this.pool.compare(password, hash);
  }

  /** Stops the bcrypt workers. */
  close(): Promise<void> {
    return this.pool.close();
  }

  // A hash of a random password at the cost most users' hashes have: comparing against it
  // takes as long as comparing against a real user's hash.
  private dummyHash(): Promise<string> {
    if (!this.dummy) {
      const counts = new Map<number, number>();
      for (const h of this.users.values()) {
        const c = costOf(h);
        if (c !== undefined) counts.set(c, (counts.get(c) ?? 0) + 1);
      }
      const cost = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? BCRYPT_COST;
      this.dummy = this.pool.hash(randomBytes(16).toString("hex"), cost);
      this.dummy.catch(() => {
        this.dummy = undefined;
      });
    }
    return this.dummy;
  }
}

/**
 * Adds or updates `user` in an htpasswd file with a bcrypt hash of `password`, creating the file
 * (mode 0600) when missing. The file is replaced atomically, so a reader never sees half of it.
 */
export async function htpasswdSet(file: string, user: string, password: string): Promise<void> {
  if (user === "" || user.includes(":") || /\s/.test(user)) {
    throw new RegistryError("UNSUPPORTED", `invalid htpasswd user name ${JSON.stringify(user)}`, {
      status: 400,
    });
  }
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if (!isErrno(err, "ENOENT")) throw err;
  }
  const users = parseHtpasswd(text);
  const { default: bcrypt } = await import("bcryptjs");
  users.set(user, await bcrypt.hash(password, BCRYPT_COST));
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, [...users].map(([u, h]) => `${u}:${h}\n`).join(""), { mode: 0o600 });
  await rename(tmp, file);
}

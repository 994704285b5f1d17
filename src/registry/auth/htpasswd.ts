import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import bcrypt from "bcryptjs";
import { isErrno } from "../../errors.js";
import { RegistryError } from "../errors.js";

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

/**
 * Users and bcrypt hashes from an htpasswd file. Verifying a bcrypt hash costs tens of
 * milliseconds, so successful verifications are remembered (keyed by a SHA-256 of user and
 * password, never the password itself) until the file is reloaded.
 */
export class Htpasswd {
  private users: Map<string, string>;
  private readonly verified = new Set<string>();

  constructor(users: Map<string, string>) {
    this.users = users;
  }

  /** Loads a file; a missing file is an empty user list. */
  static load(file: string): Htpasswd {
    try {
      return new Htpasswd(parseHtpasswd(readFileSync(file, "utf8")));
    } catch (err) {
      if (isErrno(err, "ENOENT")) return new Htpasswd(new Map());
      throw err;
    }
  }

  /** True when the user exists and the password matches its hash. */
  async verify(user: string, password: string): Promise<boolean> {
    const hash = this.users.get(user);
    if (hash === undefined) return false;
    const key = createHash("sha256").update(`${user}\0${password}\0${hash}`).digest("hex");
    if (this.verified.has(key)) return true;
    const ok = await bcrypt.compare(password, hash);
    if (ok) this.verified.add(key);
    return ok;
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
  users.set(user, await bcrypt.hash(password, BCRYPT_COST));
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, [...users].map(([u, h]) => `${u}:${h}\n`).join(""), { mode: 0o600 });
  await rename(tmp, file);
}

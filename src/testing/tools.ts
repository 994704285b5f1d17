/**
 * Test fixture: checks that an external tool a test runs (runc, umoci, getfattr...) is installed,
 * so that a missing one fails the test with the Debian package to install instead of an
 * obscure ENOENT (tests never skip silently). Not part of the library API.
 */
import { existsSync } from "node:fs";

/**
 * Returns `path` when that executable exists; else throws naming `path` and the Debian package
 * that provides it.
 */
export function requireTool(path: string, debianPackage: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: apt-get install -y ${debianPackage}`);
  return path;
}

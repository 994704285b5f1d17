/** pier's version, as in package.json (kept in one place for every binary's `--version`). */
export const PIER_VERSION = "0.1.0";

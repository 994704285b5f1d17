// One pier copy as its own process (so that the benchmark counts process start-up as it does for skopeo).
// Usage: node pier-copy.mjs SRC DST   (env PIER_DIST: the compiled tree, default ../../dist)
import { resolve } from "node:path";

const dist = resolve(process.env.PIER_DIST ?? new URL("../../dist", import.meta.url).pathname);
const { copy } = await import(`${dist}/remote/copy-transports.js`);
const [src, dst] = process.argv.slice(2);
await copy(src, dst, { insecure: true, concurrency: Number(process.env.PIER_CONCURRENCY ?? 4) });

/**
 * The body of a {@link BcryptPool} worker thread: compares passwords against bcrypt hashes, one
 * request at a time, so that the tens of milliseconds each costs never run on the server's
 * event loop.
 */
import { parentPort } from "node:worker_threads";
import bcrypt from "bcryptjs";

/** A request from the pool: compare `password` against `hash`, or make a hash of `password` at `cost`. */
export type BcryptRequest =
  | { id: number; op: "compare"; password: string; hash: string }
  | { id: number; op: "hash"; password: string; cost: number };

/** The answer: `result` (a boolean for compare, the hash for hash), or the failure's message. */
export type BcryptResponse = { id: number; result: boolean | string } | { id: number; error: string };

parentPort?.on("message", (req: BcryptRequest) => {
  let out: BcryptResponse;
  try {
    out = {
      id: req.id,
      result:
        req.op === "compare"
          ? bcrypt.compareSync(req.password, req.hash)
          : bcrypt.hashSync(req.password, req.cost),
    };
  } catch (err) {
    out = { id: req.id, error: String((err as Error)?.message ?? err) };
  }
  parentPort!.postMessage(out);
});

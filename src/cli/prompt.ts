/**
 * The short-name prompt of enforcing/permissive mode, as podman shows it: only when stdin and
 * stdout are both terminals (otherwise there is nobody to ask).
 */
import { createInterface } from "node:readline/promises";
import type { ShortNamePrompt } from "../remote/index.js";

/** A prompt on the terminal, or `undefined` when stdin or stdout is not one. */
export function terminalPrompt(): ShortNamePrompt | undefined {
  if (!process.stdin.isTTY || !process.stdout.isTTY) return undefined;
  return async (name, choices) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    try {
      process.stdout.write(`? Please select an image for "${name}":\n`);
      choices.forEach((c, i) => {
        process.stdout.write(`  ${i + 1}) ${c}\n`);
      });
      const answer = (await rl.question("Choice: ")).trim();
      const n = Number(answer);
      return Number.isInteger(n) && n >= 1 && n <= choices.length ? choices[n - 1]! : answer;
    } finally {
      rl.close();
    }
  };
}

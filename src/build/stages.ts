/**
 * A Dockerfile's stages: the `ARG`s before the first `FROM` (usable in FROM lines only, and
 * imported into a stage by a bare `ARG NAME`), each `FROM image [AS name]` and its instructions,
 * and the stages a target needs (the target and what it copies from or builds on, recursively),
 * so that a stage nothing needs is never built (BuildKit's behaviour; the classic builder built
 * them all).
 */
import type { Dockerfile } from "./dockerfile.js";
import { BuildError, syntaxError } from "./error.js";
import { expandWord, expandWords, type Lookup } from "./expand.js";
import { checkInstruction, type Instruction } from "./instructions.js";

/** One stage. */
export interface Stage {
  index: number;
  /** Lower-case name after AS. */
  name?: string;
  /** The base as written (expanded with the global ARGs): an image, `scratch` or an earlier stage. */
  base: string;
  /** The base when it names an earlier stage (its index). */
  baseStage?: number;
  platform?: string;
  from: Instruction;
  instructions: Instruction[];
}

/** The stages and the global ARGs of a Dockerfile. */
export interface StagePlan {
  file: string;
  escape: string;
  /** ARGs declared before the first FROM, with their defaults (overridden by build args). */
  globalArgs: Map<string, string | undefined>;
  stages: Stage[];
}

/** Splits `df` into stages; `buildArgs` override the global ARG defaults in FROM lines. */
export function planStages(df: Dockerfile, buildArgs: ReadonlyMap<string, string>): StagePlan {
  const globalArgs = new Map<string, string | undefined>();
  const stages: Stage[] = [];
  const lookup: Lookup = (n) => (globalArgs.has(n) ? (buildArgs.get(n) ?? globalArgs.get(n)) : undefined);
  for (const raw of df.instructions) {
    const ins = checkInstruction(raw, df.file);
    if (ins.keyword === "FROM") {
      const words = expandWords(ins.rest, lookup, df.escape);
      let name: string | undefined;
      if (words.length === 3 && words[1]!.toUpperCase() === "AS") {
        name = words[2]!.toLowerCase();
        if (!/^[a-z][a-z0-9_.-]*$/.test(name))
          throw syntaxError(df.file, ins.line, `invalid stage name "${words[2]}"`);
        if (stages.some((s) => s.name === name))
          throw syntaxError(df.file, ins.line, `duplicate stage name "${name}"`);
      } else if (words.length !== 1) {
        throw syntaxError(df.file, ins.line, "FROM requires either one or three arguments (IMAGE [AS NAME])");
      }
      const base = words[0]!;
      const baseStage = stages.find((s) => s.name === base.toLowerCase())?.index;
      const platform = ins.options.get("platform")?.[0];
      stages.push({
        index: stages.length,
        ...(name ? { name } : {}),
        base,
        ...(baseStage !== undefined ? { baseStage } : {}),
        ...(platform !== undefined ? { platform: expandWord(platform, lookup, df.escape) } : {}),
        from: ins,
        instructions: [],
      });
      continue;
    }
    const current = stages.at(-1);
    if (current === undefined) {
      if (ins.keyword !== "ARG")
        throw syntaxError(
          df.file,
          ins.line,
          `${ins.keyword} before the first FROM (only ARG may come before it)`,
        );
      for (const word of expandWords(ins.rest, () => undefined, df.escape)) {
        const eq = word.indexOf("=");
        globalArgs.set(
          eq < 0 ? word : word.slice(0, eq),
          eq < 0 ? undefined : expandWord(word.slice(eq + 1), lookup, df.escape),
        );
      }
      continue;
    }
    current.instructions.push(ins);
  }
  if (stages.length === 0) throw syntaxError(df.file, 1, "the file has no FROM instruction");
  return { file: df.file, escape: df.escape, globalArgs, stages };
}

/** The stage `target` names (a name or an index), default the last one. */
export function targetStage(plan: StagePlan, target?: string): Stage {
  if (target === undefined || target === "") return plan.stages.at(-1)!;
  const t = target.toLowerCase();
  const found = plan.stages.find((s) => s.name === t);
  if (!found)
    throw new BuildError("NOT_FOUND", `target stage "${target}" could not be found in ${plan.file}`);
  return found;
}

/**
 * Indexes of the stages `target` needs, in build order: its base stages and those that
 * `COPY --from` / `RUN --mount=from=` name, recursively. `fromOf` gives the stage references
 * of an instruction (resolved by the caller, which knows the variables).
 */
export function neededStages(
  plan: StagePlan,
  target: Stage,
  fromOf: (ins: Instruction, stage: Stage) => string[],
): number[] {
  const needed = new Set<number>();
  const visit = (s: Stage) => {
    if (needed.has(s.index)) return;
    needed.add(s.index);
    if (s.baseStage !== undefined) visit(plan.stages[s.baseStage]!);
    for (const ins of s.instructions) {
      for (const ref of fromOf(ins, s)) {
        const dep = stageByRef(plan, ref, s.index);
        if (dep) visit(dep);
      }
    }
  };
  visit(target);
  return [...needed].sort((a, b) => a - b);
}

/** The earlier stage `ref` names (a name or a number), or `undefined` when it names an image. */
export function stageByRef(plan: StagePlan, ref: string, before: number): Stage | undefined {
  const byName = plan.stages.find((s) => s.name === ref.toLowerCase() && s.index < before);
  if (byName) return byName;
  if (/^\d+$/.test(ref)) {
    const n = Number(ref);
    if (n >= before)
      throw new BuildError(
        "NOT_FOUND",
        `stage ${n} is not before stage ${before} (--from refers to earlier stages only)`,
      );
    return plan.stages[n];
  }
  return undefined;
}

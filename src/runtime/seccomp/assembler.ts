/**
 * A tiny classic-BPF assembler with symbolic labels: code generators emit instructions that
 * jump to labels, and {@link assemble} lays them out, turning any conditional jump whose
 * distance exceeds the 8-bit `jt`/`jf` fields into a short jump to an inserted `BPF_JA`
 * (32-bit offset) trampoline. Jumps only go forward, as classic BPF requires.
 */
import {
  BPF_ABS,
  BPF_ALU,
  BPF_AND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_RET,
  BPF_W,
  type SockFilter,
} from "./bpf.js";

/** A jump target created by {@link Assembly.label}. */
export type Label = number & { readonly __label: unique symbol };

/** Conditional jump kinds (`BPF_JMP | BPF_K`). */
export type JumpCondition = "jeq" | "jgt" | "jge" | "jset";

type Op =
  | { op: "ld"; k: number }
  | { op: "and"; k: number }
  | { op: "ret"; k: number }
  | { op: "jmp"; cond: JumpCondition; k: number; jt: Label; jf: Label }
  | { op: "ja"; target: Label }
  | { op: "bind"; label: Label };

const CONDITION_CODES: Record<JumpCondition, number> = {
  jeq: BPF_JMP | BPF_JEQ | BPF_K,
  jgt: BPF_JMP | BPF_JGT | BPF_K,
  jge: BPF_JMP | BPF_JGE | BPF_K,
  jset: BPF_JMP | BPF_JSET | BPF_K,
};

const MAX_SHORT_JUMP = 255;

/** An instruction list under construction. Guarantees: `assemble()` output only jumps forward and in range. */
export class Assembly {
  private readonly ops: Op[] = [];
  private labels = 0;

  /** A new, not yet placed label. */
  label(): Label {
    return this.labels++ as Label;
  }
  /** Places `label` at the next instruction. */
  bind(label: Label): void {
    this.ops.push({ op: "bind", label });
  }
  /** `A = *(u32 *)(seccomp_data + offset)`. */
  load(offset: number): void {
    this.ops.push({ op: "ld", k: offset });
  }
  /** `A &= k`. */
  and(k: number): void {
    this.ops.push({ op: "and", k: k >>> 0 });
  }
  /** `return k`. */
  ret(k: number): void {
    this.ops.push({ op: "ret", k: k >>> 0 });
  }
  /** `if (A <cond> k) goto jt; else goto jf`. */
  jump(cond: JumpCondition, k: number, jt: Label, jf: Label): void {
    this.ops.push({ op: "jmp", cond, k: k >>> 0, jt, jf });
  }
  /** `goto target`. */
  goto(target: Label): void {
    this.ops.push({ op: "ja", target });
  }

  /** Lays the program out and resolves labels; throws on a backward or unbound jump (a generator bug). */
  assemble(): SockFilter[] {
    // Which conditional jumps need a trampoline for their true / false target. Only ever set,
    // never cleared, so the fixpoint loop below terminates.
    const longTrue = new Set<number>();
    const longFalse = new Set<number>();
    for (;;) {
      const { at, where } = this.layout(longTrue, longFalse);
      let changed = false;
      this.ops.forEach((o, i) => {
        if (o.op !== "jmp") return;
        const next = at[i]! + 1;
        if (!longTrue.has(i) && this.target(where, o.jt) - next > MAX_SHORT_JUMP) {
          longTrue.add(i);
          changed = true;
        }
        if (!longFalse.has(i) && this.target(where, o.jf) - next > MAX_SHORT_JUMP) {
          longFalse.add(i);
          changed = true;
        }
      });
      if (!changed) return this.emit(at, where, longTrue, longFalse);
    }
  }

  private target(where: Map<Label, number>, label: Label): number {
    const pos = where.get(label);
    if (pos === undefined) throw new Error(`BPF assembler: label ${label} is never bound`);
    return pos;
  }

  private layout(longTrue: Set<number>, longFalse: Set<number>): { at: number[]; where: Map<Label, number> } {
    const at: number[] = [];
    const where = new Map<Label, number>();
    let pos = 0;
    this.ops.forEach((o, i) => {
      at.push(pos);
      if (o.op === "bind") where.set(o.label, pos);
      else if (o.op === "jmp") pos += 1 + (longTrue.has(i) ? 1 : 0) + (longFalse.has(i) ? 1 : 0);
      else pos += 1;
    });
    return { at, where };
  }

  private emit(
    at: number[],
    where: Map<Label, number>,
    longTrue: Set<number>,
    longFalse: Set<number>,
  ): SockFilter[] {
    const out: SockFilter[] = [];
    const offset = (from: number, label: Label): number => {
      const d = this.target(where, label) - (from + 1);
      if (d < 0) throw new Error(`BPF assembler: backward jump to label ${label}`);
      return d;
    };
    this.ops.forEach((o, i) => {
      const pos = at[i]!;
      switch (o.op) {
        case "bind":
          return;
        case "ld":
          out.push({ code: BPF_LD | BPF_W | BPF_ABS, jt: 0, jf: 0, k: o.k });
          return;
        case "and":
          out.push({ code: BPF_ALU | BPF_AND | BPF_K, jt: 0, jf: 0, k: o.k });
          return;
        case "ret":
          out.push({ code: BPF_RET | BPF_K, jt: 0, jf: 0, k: o.k });
          return;
        case "ja":
          out.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: offset(pos, o.target) });
          return;
        case "jmp": {
          const lt = longTrue.has(i);
          const lf = longFalse.has(i);
          // Trampolines follow the conditional jump: [jcond][ja true?][ja false?].
          const jt = lt ? 0 : offset(pos, o.jt);
          const jf = lf ? (lt ? 1 : 0) : offset(pos, o.jf);
          out.push({ code: CONDITION_CODES[o.cond], jt, jf, k: o.k });
          if (lt) out.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: offset(pos + 1, o.jt) });
          if (lf) {
            const p = pos + 1 + (lt ? 1 : 0);
            out.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: offset(p, o.jf) });
          }
          return;
        }
      }
    });
    return out;
  }
}

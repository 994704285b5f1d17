/**
 * Translates a `linux.seccomp` profile into the rules file of testdata/libseccomp-loader.c, the
 * way runc feeds libseccomp: one rule per name, rules with repeated argument indexes split into
 * one rule per condition, architectures by libseccomp name. Used by the differential test and
 * the benchmark only.
 */
import type {
  LinuxSeccomp,
  LinuxSeccompArch,
  LinuxSeccompOperator,
} from "../../../oci/runtime-spec/seccomp.js";
import { actionRet } from "../policy.js";

// enum scmp_compare in <seccomp.h>.
const OPS: Record<LinuxSeccompOperator, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

const ARCHS: Partial<Record<LinuxSeccompArch, string>> = {
  SCMP_ARCH_X86_64: "x86_64",
  SCMP_ARCH_X86: "x86",
  SCMP_ARCH_X32: "x32",
  SCMP_ARCH_AARCH64: "aarch64",
  SCMP_ARCH_ARM: "arm",
};

/**
 * The rules file text for `profile`. `foreignNative` drops the host architecture, to build the
 * filter another host would (e.g. aarch64 on this x86_64 machine); list it in `architectures`.
 */
export function libseccompRules(profile: LinuxSeccomp, options: { foreignNative?: boolean } = {}): string {
  const lines = [`default ${actionRet(profile.defaultAction, profile.defaultErrnoRet)}`];
  for (const a of profile.architectures ?? []) {
    const name = ARCHS[a];
    if (name !== undefined) lines.push(`arch ${name}`);
  }
  // Added architectures first: libseccomp refuses to remove the native one from an empty filter.
  if (options.foreignNative) lines.push("native remove");
  for (const rule of profile.syscalls ?? []) {
    const ret = actionRet(rule.action, rule.errnoRet);
    const args = rule.args ?? [];
    const conds = args.map((c) => `${c.index} ${OPS[c.op]} ${c.value} ${c.valueTwo ?? 0n}`);
    const split = new Set(args.map((c) => c.index)).size < args.length;
    for (const name of rule.names) {
      if (split) for (const c of conds) lines.push(`rule ${ret} ${name} 1 ${c}`);
      else lines.push(`rule ${ret} ${name} ${conds.length} ${conds.join(" ")}`.trimEnd());
    }
  }
  return `${lines.join("\n")}\n`;
}

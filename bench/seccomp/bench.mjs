// Driver of bench/seccomp/run.sh: compiles Docker's default profile with pier, builds the same
// filter with libseccomp (via libseccomp-loader), compares program sizes and instructions
// executed (pier's test interpreter runs both programs), then times busybox dd under each
// filter, alternating A B A B, and prints medians and ratios.
//
//   node bench.mjs <pier build dir> <work dir> <pier loader> <libseccomp loader> [rounds]
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [build, work, pierLoader, libLoader, loop, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 7);
const { validateLinuxSeccomp } = await import(join(build, "oci/runtime-spec/seccomp.js"));
const { compileSeccompFilter } = await import(join(build, "runtime/seccomp/compile.js"));
const { BpfProgram } = await import(join(build, "runtime/seccomp/bpf-interpreter.js"));
const { X86_64_SYSCALLS } = await import(join(build, "runtime/seccomp/tables/x86_64.js"));
const { AUDIT_ARCH_X86_64 } = await import(join(build, "runtime/seccomp/arch.js"));

const fixture = join(build, "../../src/runtime/seccomp/testdata/docker-default-amd64.json");
const profile = validateLinuxSeccomp(JSON.parse(readFileSync(process.env.PROFILE ?? fixture, "utf8")));
const pier = compileSeccompFilter(profile, { nativeArch: "x86_64" });
const pierFile = join(work, "pier.bpf");
writeFileSync(pierFile, pier.program);

// The same profile as libseccomp rules, translated as runc translates it.
const { libseccompRules } = await import(join(build, "runtime/seccomp/testdata/libseccomp-rules.js"));
const rulesFile = join(work, "rules.txt");
writeFileSync(rulesFile, libseccompRules(profile));
const libFile = join(work, "libseccomp.bpf");
const exp = spawnSync(libLoader, [rulesFile, "/bin/true"], {
  env: { ...process.env, EXPORT: libFile },
  encoding: "utf8",
});
if (exp.status !== 0) throw new Error(`libseccomp export failed: ${exp.stderr}`);
const lib = readFileSync(libFile);

// Instructions executed per syscall, by pier's interpreter on both programs.
const progs = { pier: new BpfProgram(pier.program), libseccomp: new BpfProgram(lib) };
const allowed = (profile.syscalls ?? [])
  .filter((s) => s.action === "SCMP_ACT_ALLOW" && !s.args)
  .flatMap((s) => s.names)
  .filter((n) => X86_64_SYSCALLS.has(n));
const cost = (p, name, args = []) =>
  p.run({ nr: X86_64_SYSCALLS.get(name), arch: AUDIT_ARCH_X86_64, args }).executed;
console.log(`profile: Docker default (amd64), ${allowed.length} unconditionally allowed x86_64 syscalls`);
for (const [name, p] of Object.entries(progs)) {
  const avg = allowed.reduce((sum, n) => sum + cost(p, n), 0) / allowed.length;
  console.log(
    `${name.padEnd(10)} instructions: ${String(p.instructions.length).padStart(4)}  executed: read ${cost(p, "read")}, write ${cost(p, "write")}, socket(AF_INET) ${cost(p, "socket", [2n])}, personality(0xffffffff) ${cost(p, "personality", [0xffffffffn])}, average over allowed ${avg.toFixed(2)}`,
  );
}

// Two workloads: busybox dd with bs=1 (about four million read/write calls, which the kernel's
// seccomp action cache answers without running either filter since Linux 5.11), and
// personality(0xffffffff) in a loop (allowed through an argument rule, so the filter runs on
// every call).
const workloads = [
  {
    name: "dd bs=1 count=2000000",
    argv: ["/bin/busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=2000000"],
  },
  { name: "personality(0xffffffff) x 2000000", argv: [loop, "2000000"] },
];
// bash's `time` gives the child's CPU time too: on a shared, noisy machine wall time mostly
// measures the neighbours, while user+sys is the work the syscalls (and their filter) cost.
const timed = (cmd, args) => {
  const script = 'TIMEFORMAT="%3R %3U %3S"; { time "$@" >/dev/null 2>/dev/null; } 2>&1';
  const r = spawnSync("bash", ["-c", script, "bash", cmd, ...args], { encoding: "utf8" });
  const [wall, user, sys] = r.stdout.trim().split(/\s+/).map(Number);
  if (r.status !== 0 || !Number.isFinite(sys)) throw new Error(`${cmd} failed: ${r.stdout} ${r.stderr}`);
  return { wall: wall * 1000, cpu: (user + sys) * 1000 };
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
for (const w of workloads) {
  const variants = {
    none: [w.argv[0], w.argv.slice(1)],
    pier: [pierLoader, [pierFile, String(pier.flags), ...w.argv]],
    libseccomp: [libLoader, [rulesFile, ...w.argv]],
  };
  const times = { none: [], pier: [], libseccomp: [] };
  for (let i = 0; i < rounds; i++) {
    for (const name of ["pier", "libseccomp", "none"]) times[name].push(timed(...variants[name]));
  }
  console.log(`${w.name}, ${rounds} rounds alternating pier/libseccomp/none, medians:`);
  const m = {};
  for (const k of ["none", "pier", "libseccomp"]) {
    m[k] = { wall: median(times[k].map((t) => t.wall)), cpu: median(times[k].map((t) => t.cpu)) };
    console.log(
      `  ${k.padEnd(10)} wall ${m[k].wall.toFixed(0).padStart(6)} ms   cpu (user+sys) ${m[k].cpu.toFixed(0).padStart(6)} ms`,
    );
  }
  console.log(
    `  ratio pier/libseccomp: cpu ${(m.pier.cpu / m.libseccomp.cpu).toFixed(3)}, wall ${(m.pier.wall / m.libseccomp.wall).toFixed(3)}`,
  );
  const po = m.pier.cpu - m.none.cpu;
  const lo = m.libseccomp.cpu - m.none.cpu;
  console.log(`  cpu over no filter: pier ${po.toFixed(0)} ms, libseccomp ${lo.toFixed(0)} ms`);
}

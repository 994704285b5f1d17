/*
 * Benchmark peer: builds a seccomp filter with libseccomp the way runc does (seccomp_init with
 * the default action, extra architectures, binary-tree optimisation for more than 32 rules,
 * rules whose action equals the default skipped, names unknown to libseccomp ignored), then
 * either exports it (EXPORT=<file>, for the instruction count) or loads it and execs a command.
 *
 *   libseccomp-loader <rules.txt> <path> [argv...]
 *
 * rules.txt (written by libseccomp-rules.ts from the same OCI profile pier compiles):
 *   default <action>
 *   arch <x86_64|x86|x32|aarch64>
 *   native remove          (drop the host architecture libseccomp adds by default)
 *   rule <action> <name> <ncond> [<index> <op> <datum_a> <datum_b>]...
 * Actions are SECCOMP_RET_* values (libseccomp uses the same numbers); ops are enum scmp_compare.
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static void fail(const char *what, int rc) {
  fprintf(stderr, "libseccomp-loader: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
  exit(125);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s <rules.txt> <path> [argv...]\n", argv[0]);
    return 125;
  }
  FILE *f = fopen(argv[1], "r");
  if (!f) fail("open rules", errno);
  char word[64];
  unsigned int def;
  if (fscanf(f, "%63s %u", word, &def) != 2 || strcmp(word, "default") != 0) fail("rules: no default line", EINVAL);
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) fail("seccomp_init", EINVAL);
  int rules = 0;
  struct { unsigned int action; char name[64]; unsigned int n; struct scmp_arg_cmp c[6]; } r[2048];
  while (fscanf(f, "%63s", word) == 1) {
    if (strcmp(word, "arch") == 0) {
      char arch[32];
      if (fscanf(f, "%31s", arch) != 1) fail("rules: arch", EINVAL);
      uint32_t token = seccomp_arch_resolve_name(arch);
      if (token == 0) fail("unknown arch", EINVAL);
      int rc = seccomp_arch_add(ctx, token);
      if (rc < 0 && rc != -EEXIST) fail("seccomp_arch_add", rc);
    } else if (strcmp(word, "native") == 0) {
      char what[16];
      if (fscanf(f, "%15s", what) != 1 || strcmp(what, "remove") != 0) fail("rules: native", EINVAL);
      int rc = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE);
      if (rc < 0) fail("seccomp_arch_remove", rc);
    } else if (strcmp(word, "rule") == 0) {
      if (rules >= 2048) fail("too many rules", E2BIG);
      if (fscanf(f, "%u %63s %u", &r[rules].action, r[rules].name, &r[rules].n) != 3 || r[rules].n > 6) fail("rules: rule", EINVAL);
      for (unsigned int i = 0; i < r[rules].n; i++) {
        unsigned int arg, op;
        unsigned long long a, b;
        if (fscanf(f, "%u %u %llu %llu", &arg, &op, &a, &b) != 4) fail("rules: condition", EINVAL);
        r[rules].c[i] = (struct scmp_arg_cmp){.arg = arg, .op = (enum scmp_compare)op, .datum_a = a, .datum_b = b};
      }
      rules++;
    } else {
      fail("rules: unknown line", EINVAL);
    }
  }
  fclose(f);
  if (rules > 32) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  for (int i = 0; i < rules; i++) {
    if (r[i].action == def) continue;
    int nr = seccomp_syscall_resolve_name(r[i].name);
    if (nr == __NR_SCMP_ERROR) continue;
    int rc = seccomp_rule_add_array(ctx, r[i].action, nr, r[i].n, r[i].c);
    if (rc < 0) fail(r[i].name, rc);
  }
  const char *exp = getenv("EXPORT");
  if (exp) {
    int fd = open(exp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) fail("open export", errno);
    int rc = seccomp_export_bpf(ctx, fd);
    if (rc < 0) fail("seccomp_export_bpf", rc);
    close(fd);
    return 0;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("PR_SET_NO_NEW_PRIVS", errno);
  int rc = seccomp_load(ctx);
  if (rc < 0) fail("seccomp_load", rc);
  execv(argv[2], argv + 2);
  fail("execv", errno);
  return 125;
}

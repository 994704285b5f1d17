/*
 * Test-only seccomp loader: loads a compiled filter and execs a command under it.
 *
 *   loader <program.bpf> <flags> <path> [argv0 args...]
 *
 * <program.bpf> holds struct sock_filter[] bytes as compileSeccompFilter() returns them.
 * Sets no_new_privs first (so no CAP_SYS_ADMIN is needed), loads with seccomp(2), then execv.
 * Exit status 125 means the loader itself failed (message on stderr).
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "loader: %s: %s\n", what, strerror(errno));
  exit(125);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s <program.bpf> <flags> <path> [argv...]\n", argv[0]);
    return 125;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) die("open program");
  static struct sock_filter insns[BPF_MAXINSNS + 1];
  size_t n = fread(insns, sizeof(insns[0]), BPF_MAXINSNS + 1, f);
  fclose(f);
  if (n == 0 || n > BPF_MAXINSNS) {
    fprintf(stderr, "loader: program has %zu instructions\n", n);
    return 125;
  }
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = insns};
  unsigned long flags = strtoul(argv[2], NULL, 0);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("PR_SET_NO_NEW_PRIVS");
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) < 0) die("seccomp(SECCOMP_SET_MODE_FILTER)");
  execv(argv[3], argv + 3);
  die("execv");
  return 125;
}

/*
 * Test-only: prints libseccomp's number for each syscall name read from stdin, for one
 * architecture, so pier's generated tables can be compared with an independent source.
 *
 *   resolve-syscalls <x86_64|x86|x32|aarch64> < names.txt   ->   "<name> <number>" per line
 *
 * Names libseccomp does not know for that architecture print as "<name> none"; names it only
 * reaches through a multiplexer (i386 socketcall/ipc) print its negative pseudo number.
 */
#include <seccomp.h>
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <arch>\n", argv[0]);
    return 2;
  }
  uint32_t arch = seccomp_arch_resolve_name(argv[1]);
  if (arch == 0) {
    fprintf(stderr, "unknown arch %s\n", argv[1]);
    return 2;
  }
  char name[128];
  while (scanf("%127s", name) == 1) {
    int nr = seccomp_syscall_resolve_name_arch(arch, name);
    if (nr == __NR_SCMP_ERROR) printf("%s none\n", name);
    else printf("%s %d\n", name, nr);
  }
  return 0;
}

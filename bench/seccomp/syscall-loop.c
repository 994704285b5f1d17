/*
 * Benchmark workload whose syscall the kernel cannot answer from its seccomp action cache:
 * personality(0xffffffff) (query) is allowed by Docker's profile only through an argument
 * rule, so every call runs the BPF program.   syscall-loop <count>
 */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  for (long i = 0; i < n; i++) syscall(SYS_personality, 0xffffffffUL);
  return 0;
}

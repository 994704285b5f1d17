/*
 * pier's `docker run --init`: a tiny init that runs as a container's PID 1 (bind-mounted
 * read-only at /sbin/docker-init, as Docker mounts its docker-init, which is tini). It does what
 * tini does by default and nothing more:
 *
 *   docker-init [--] COMMAND [ARG...]
 *
 * - starts COMMAND as its child (the PATH lookup of execvp), with the signal mask and
 *   dispositions it was given;
 * - forwards every signal it receives (but SIGCHLD) to that child, so `docker stop` and
 *   `docker kill -s` reach the program, which as PID 1 itself would ignore signals it installs
 *   no handler for;
 * - reaps every zombie that is reparented to it (orphans of the program's children);
 * - exits with the child's status: its exit code, or 128+N when signal N killed it.
 *
 * A command that cannot be run exits 127 (not found) or 126 (found but not executable), with
 * the reason on stderr, as a shell and Docker say it. When it is not PID 1 (a pid namespace is
 * shared) it makes itself the child subreaper so that orphans still come to it.
 *
 * Built static by build.sh: it runs inside any rootfs, with no loader or libc of the image.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

int main(int argc, char **argv) {
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0) first++;
  if (first >= argc) {
    fprintf(stderr, "docker-init: usage: docker-init [--] COMMAND [ARG...]\n");
    return 2;
  }
  if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    fprintf(stderr, "docker-init: cannot become a subreaper: %s\n", strerror(errno));
    return 1;
  }
  /* Every signal is taken synchronously (sigtimedwait) rather than by handlers: none is lost
   * between a wait and the next, and the child inherits the caller's mask restored. */
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  /* A terminal's background-read/write stops must not stop the init itself. */
  signal(SIGTTIN, SIG_IGN);
  signal(SIGTTOU, SIG_IGN);

  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "docker-init: fork: %s\n", strerror(errno));
    return 1;
  }
  if (child == 0) {
    signal(SIGTTIN, SIG_DFL);
    signal(SIGTTOU, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    execvp(argv[first], &argv[first]);
    int e = errno;
    fprintf(stderr, "docker-init: exec %s failed: %s\n", argv[first], strerror(e));
    _exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
  }

  int code = -1;
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "docker-init: sigwaitinfo: %s\n", strerror(errno));
      return 1;
    }
    if (sig != SIGCHLD) {
      /* Forwarded as it came; a child already gone (ESRCH) is reaped below. */
      kill(child, sig);
      continue;
    }
    /* Reap everything that exited, the main child included. */
    for (;;) {
      int status;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      if (pid == child) code = status_code(status);
    }
    if (code >= 0) return code;
  }
}

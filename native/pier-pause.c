/*
 * pier-pause: the process that holds a CRI pod sandbox's namespaces (the role of Kubernetes'
 * `pause`). It does nothing but wait: SIGTERM or SIGINT ends it with status 0, and as a pod's
 * init (when containers share its PID namespace) it reaps every orphan it inherits.
 * Built static by build.sh: it is the only file of pierd's sandbox image.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig) { _exit(0); }

static void reap(int sig) {
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "-v")) {
    puts("pier-pause");
    return 0;
  }
  struct sigaction sa = {0};
  sa.sa_handler = quit;
  if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) return 1;
  sa.sa_handler = reap;
  sa.sa_flags = SA_NOCLDSTOP;
  if (sigaction(SIGCHLD, &sa, NULL) < 0) return 2;
  for (;;) pause();
}

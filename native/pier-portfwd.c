/*
 * pier-portfwd: one forwarded connection of pierd's CRI streaming server (`kubectl
 * port-forward`), the part that Node.js cannot do: it joins the pod's network namespace NETNS
 * (a path: a bound namespace file or /proc/PID/ns/net), connects to PORT on localhost there
 * (IPv4, then IPv6, as containerd does), then copies stdin to the connection and the connection
 * to stdout. The end of stdin half-closes the connection (shutdown SHUT_WR); the end of the
 * connection ends stdout and the relay. Exit 0 after a relay, 2 with a message on stderr when it
 * cannot join or connect (nothing was relayed then), 1 when the relay broke.
 * Usage: pier-portfwd NETNS PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int dial(long port) {
  struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port)};
  a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a4, sizeof a4) == 0) return fd;
  int err4 = errno;
  if (fd >= 0) close(fd);
  struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a6, sizeof a6) == 0) return fd;
  if (fd >= 0) close(fd);
  errno = err4;
  return -1;
}

/* Writes all of buf to fd; -1 when the other side is gone. */
static int write_all(int fd, const char *buf, ssize_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    buf += w;
    n -= w;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: pier-portfwd NETNS PORT\n");
    return 2;
  }
  char *end;
  long port = strtol(argv[2], &end, 10);
  if (*argv[2] == 0 || *end || port < 1 || port > 65535) {
    fprintf(stderr, "invalid port %s\n", argv[2]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int ns = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
    fprintf(stderr, "cannot join network namespace %s: %s\n", argv[1], strerror(errno));
    return 2;
  }
  close(ns);
  int s = dial(port);
  if (s < 0) {
    fprintf(stderr, "failed to connect to localhost:%ld inside namespace %s: %s\n", port, argv[1],
            strerror(errno));
    return 2;
  }
  static char buf[65536];
  int in_open = 1;
  for (;;) {
    struct pollfd p[2] = {{.fd = s, .events = POLLIN}, {.fd = in_open ? 0 : -1, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (p[0].revents) {
      ssize_t n = read(s, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return n < 0 ? 1 : 0; /* the pod's side is done: so is the relay */
      if (write_all(1, buf, n) < 0) return 1;
    }
    if (in_open && p[1].revents) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        in_open = 0;
        shutdown(s, SHUT_WR);
      } else if (write_all(s, buf, n) < 0) return 1;
    }
  }
}

/*
 * The control channel between a pier-runtime command line process and the resident runtime
 * service (src/common/service/; its entries are src/runtime/service/ and src/cli/service/). The
 * service decides everything; the process on the caller's side only relays: it writes what the
 * service sends to its own stdout and stderr and exits with the status the service names.
 * Messages from the service are:
 *
 *   "out LEN\n" + LEN bytes    write to fd 1
 *   "err LEN\n" + LEN bytes    write to fd 2
 *   "exit CODE\n"              exit with CODE
 *
 * Used by the front end (native/front-end.c) and, after the front end became pier-init, by
 * pier-init's parent process (native/pier-init.c). Header-only so that both stay single-file
 * programs built by native/build.sh.
 */
#ifndef PIER_CTL_RELAY_H
#define PIER_CTL_RELAY_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Lines read so far: none means the service closed before it took the request on. */
static int ctl_lines_read = 0;

/* Reads one '\n'-terminated line (without it) into buf; 0 on EOF or error. */
static int ctl_read_line(int fd, char *buf, size_t size) {
  size_t n = 0;
  while (n + 1 < size) {
    ssize_t r = read(fd, buf + n, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    if (buf[n] == '\n') {
      buf[n] = '\0';
      ctl_lines_read++;
      return 1;
    }
    n++;
  }
  return 0;
}

/* Copies exactly len bytes from fd to out (out < 0: discards them); 0 when fd ended early. */
static int ctl_copy(int fd, int out, size_t len) {
  char chunk[8192];
  while (len > 0) {
    ssize_t r = read(fd, chunk, len < sizeof chunk ? len : sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    len -= (size_t)r;
    for (ssize_t off = 0; out >= 0 && off < r;) {
      ssize_t w = write(out, chunk + off, (size_t)(r - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        out = -1; /* the reader went away: keep draining so the service is not blocked */
        break;
      }
      off += w;
    }
  }
  return 1;
}

/*
 * Reads the next message that is not output (writing "out"/"err" payloads to fds 1 and 2 on the
 * way) into line; 0 when the service went away.
 */
static int ctl_next(int fd, char *line, size_t size) {
  while (ctl_read_line(fd, line, size)) {
    int out = !strncmp(line, "out ", 4) ? 1 : !strncmp(line, "err ", 4) ? 2 : 0;
    if (!out) return 1;
    if (!ctl_copy(fd, out, (size_t)strtoul(line + 4, NULL, 10))) return 0;
  }
  return 0;
}

/*
 * Relays messages from the service until it says "exit"; then exits with that status. When the
 * service goes away without one, exits with `fallback`.
 */
static void __attribute__((noreturn, unused)) ctl_relay(int fd, int fallback) {
  char line[256];
  while (ctl_next(fd, line, sizeof line))
    if (!strncmp(line, "exit ", 5)) _exit(atoi(line + 5) & 0xff);
  _exit(fallback);
}

#endif

/*
 * The foreground console: a terminal container run (or restored) without a console socket gets
 * its pty master copied to and from the caller's own stdio, as runc does. Used by pier-init's
 * parent (`pier-runtime run -t` without --console-socket) and by criu-swrk (`restore` of a
 * terminal container without --detach). Header-only so that both stay single-file programs built
 * by native/build.sh.
 */
#ifndef PIER_CONSOLE_PROXY_H
#define PIER_CONSOLE_PROXY_H

#include <errno.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static int console_write_full(int fd, const char *buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    buf += w;
    n -= (size_t)w;
  }
  return 0;
}

/*
 * Copies stdin to MASTER and MASTER to stdout until the pty hangs up (every slave closed), with
 * the caller's terminal in raw mode and its size given to the pty meanwhile; closes MASTER.
 */
static void proxy_console_fd(int master) {
  struct termios saved;
  int raw = isatty(0) && tcgetattr(0, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    cfmakeraw(&t);
    tcsetattr(0, TCSANOW, &t);
    struct winsize ws;
    if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
  }
  int in_open = 1;
  static char io[8192];
  for (;;) {
    struct pollfd p[2] = {{.fd = master, .events = POLLIN}, {.fd = in_open ? 0 : -1, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue; /* a signal relayed to the container */
      break;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(master, io, sizeof io);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || console_write_full(1, io, (size_t)n) < 0) break;
    }
    if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(0, io, sizeof io);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) in_open = 0;
      else if (console_write_full(master, io, (size_t)n) < 0) break;
    }
  }
  if (raw) tcsetattr(0, TCSANOW, &saved);
  close(master);
}

#endif

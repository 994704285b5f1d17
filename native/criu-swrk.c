/*
 * criu-swrk: the bridge between pier-runtime (Node.js, which cannot make a SOCK_SEQPACKET
 * socketpair) and CRIU's RPC service mode, `criu swrk FD`.
 *
 *   criu-swrk [-c CONSOLE_SOCKET | -P] CRIU_PATH
 *                              (fd 3: a stream socket to pier-runtime; fds 4.. passed on to criu)
 *
 * It makes the SOCK_SEQPACKET socketpair, starts `CRIU_PATH swrk N` with every fd it got except
 * fd 3 (so the images/work directory fds named in criu_opts and the --inherit-fd fds are criu's
 * too; criu resolves images_dir_fd through /proc/<this pid>/fd, the socket's peer), and relays
 * messages: each one on fd 3 is a 4-byte little-endian length then the bytes of one criu_req or
 * criu_resp. Its first frame out is criu's pid (4 bytes LE, length 4) so the caller can put criu
 * into the container's cgroup before the request. A frame of length 0xffffffff followed by a
 * 4-byte pid from the caller means "wait for this pid": a restored task is this program's child
 * (criu_opts.rst_sibling), so `restore` without --detach waits here, and this program then
 * exits with the container's status (128+signal when killed), after relaying SIGINT, SIGTERM,
 * SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to it as runc does. Without that frame, it exits 0 once
 * criu has exited and the caller closed fd 3, leaving a restored task to its subreaper.
 *
 * The console (a restored container with a terminal, as runc restores one): criu restores the
 * pty slave of the container's init and makes a new master for it (criu_opts.orphan_pts_master),
 * which it sends with its "orphan-pts-master" notification as SCM_RIGHTS. Node cannot receive
 * that fd, so this program takes it: with -c it has connected to CONSOLE_SOCKET before starting
 * criu (a bad socket fails before anything is restored) and sends the master there as `create`
 * does (the pty's name as the payload, the fd as SCM_RIGHTS), before it relays the notification;
 * if that send fails it exits, which fails the restore. With -P (`restore` of a terminal in the
 * foreground, no console socket) it keeps the master and, once told to wait for the container,
 * copies its own stdin to the pty and the pty to its stdout (its terminal made raw, its size
 * given to the pty) until the pty hangs up, as runc proxies a foreground console. Without
 * either, the fd is closed (the caller refuses such a restore when it sees the notification).
 * Any other fd criu might send is closed too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <sys/wait.h>
#include <unistd.h>

#include "console-proxy.h"

#define CTL_FD 3
#define MAX_MSG (1 << 20) /* criu_resp/criu_req are small; this bounds what we buffer */
#define WAIT_PID_FRAME 0xffffffffu

static volatile sig_atomic_t waited_pid;

static void die(const char *what) {
  fprintf(stderr, "criu-swrk: %s: %s\n", what, strerror(errno));
  exit(125);
}

static int read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return got == 0 && r == 0 ? 0 : -1;
    got += (size_t)r;
  }
  return 1;
}

static int write_full(int fd, const void *buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(fd, (const char *)buf + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    done += (size_t)w;
  }
  return 0;
}

static int frame_out(const void *buf, uint32_t n) {
  unsigned char len[4] = {n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >> 24) & 0xff};
  if (write_full(CTL_FD, len, 4) < 0) return -1;
  return write_full(CTL_FD, buf, n);
}

/* Connects to the caller's --console-socket (a stream socket, as for `create`). */
static int connect_console(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) {
    errno = ENAMETOOLONG;
    die("console socket path");
  }
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("console socket");
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    fprintf(stderr, "criu-swrk: connect console socket %s: %s\n", path, strerror(errno));
    exit(125);
  }
  return fd;
}

/* Sends the pty master `master` on `sock` with its slave's name, as pier-init's console op. */
static void send_console(int sock, int master) {
  char name[64] = "/dev/ptmx";
  int ptyno;
  if (ioctl(master, TIOCGPTN, &ptyno) == 0) snprintf(name, sizeof name, "/dev/pts/%d", ptyno);
  struct iovec iov = {.iov_base = name, .iov_len = strlen(name)};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &master, sizeof(int));
  while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) die("send the console to --console-socket");
}

#define MAX_CRIU_FDS 8

/* The fds criu sent with a message (SCM_RIGHTS); returns how many (the rest are closed). */
static int received_fds(struct msghdr *msg, int *fds) {
  int n = 0;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    int count = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
      if (n < MAX_CRIU_FDS) fds[n++] = fd;
      else close(fd);
    }
  }
  return n;
}

/* -P: the restored console's master, proxied to this program's stdio while it waits. */
static int kept_master = -1;

static void forward_signal(int sig) {
  if (waited_pid > 0) kill(waited_pid, sig);
}

static int wait_container(pid_t pid) {
  int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  waited_pid = pid;
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction sa = {0};
    sa.sa_handler = forward_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(sigs[i], &sa, NULL);
  }
  if (kept_master >= 0) proxy_console_fd(kept_master);
  int status;
  for (;;) {
    pid_t r = waitpid(pid, &status, 0);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) die("waitpid (restored task)");
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

int main(int argc, char **argv) {
  const char *console_path = NULL;
  int proxy = 0;
  if (argc == 4 && !strcmp(argv[1], "-c")) {
    console_path = argv[2];
    argv += 2;
    argc -= 2;
  } else if (argc == 3 && !strcmp(argv[1], "-P")) {
    proxy = 1;
    argv += 1;
    argc -= 1;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: criu-swrk [-c CONSOLE_SOCKET | -P] CRIU_PATH (fd 3: pier-runtime's socket)\n");
    return 2;
  }
  if (fcntl(CTL_FD, F_SETFD, FD_CLOEXEC) < 0) die("fd 3");
  int console_sock = console_path ? connect_console(console_path) : -1;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) die("socketpair");
  if (fcntl(sv[0], F_SETFD, FD_CLOEXEC) < 0) die("fcntl");
  pid_t criu = fork();
  if (criu < 0) die("fork");
  if (criu == 0) {
    char fdarg[16];
    snprintf(fdarg, sizeof fdarg, "%d", sv[1]);
    if (console_sock >= 0) close(console_sock);
    execl(argv[1], "criu", "swrk", fdarg, (char *)NULL);
    fprintf(stderr, "criu-swrk: exec %s: %s\n", argv[1], strerror(errno));
    _exit(127);
  }
  close(sv[1]);
  uint32_t cp = (uint32_t)criu;
  unsigned char pidbuf[4] = {cp & 0xff, (cp >> 8) & 0xff, (cp >> 16) & 0xff, (cp >> 24) & 0xff};
  if (frame_out(pidbuf, 4) < 0) die("write fd 3");

  static unsigned char buf[MAX_MSG];
  int criu_open = 1;
  pid_t wait_for = 0;
  while (criu_open) {
    struct pollfd p[2] = {{.fd = CTL_FD, .events = POLLIN}, {.fd = sv[0], .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (p[1].revents) {
      union {
        char buf[CMSG_SPACE(MAX_CRIU_FDS * sizeof(int))];
        struct cmsghdr align;
      } u;
      struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
      struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
      ssize_t n = recvmsg(sv[0], &msg, MSG_TRUNC | MSG_CMSG_CLOEXEC);
      if (n < 0 && errno == EINTR) continue;
      int fds[MAX_CRIU_FDS];
      int nfds = n > 0 ? received_fds(&msg, fds) : 0;
      for (int i = 0; i < nfds; i++) {
        /* criu's only fd-carrying notification here is the orphan pts master (see the header) */
        int is_console = i == 0 && (size_t)n <= sizeof buf && memmem(buf, (size_t)n, "orphan-pts-master", 17);
        if (is_console && console_sock >= 0) {
          send_console(console_sock, fds[i]);
          close(console_sock);
          console_sock = -1;
        } else if (is_console && proxy && kept_master < 0) {
          kept_master = fds[i];
          continue;
        }
        close(fds[i]);
      }
      if (n <= 0) {
        criu_open = 0; /* criu closed its end: it is done */
        break;
      }
      if ((size_t)n > sizeof buf) {
        errno = EMSGSIZE;
        die("criu's message");
      }
      if (frame_out(buf, (uint32_t)n) < 0) die("write fd 3");
    }
    if (p[0].revents) {
      unsigned char len[4];
      int r = read_full(CTL_FD, len, 4);
      if (r == 0) break; /* the caller is gone: criu sees EOF too */
      if (r < 0) die("read fd 3");
      uint32_t n = len[0] | len[1] << 8 | len[2] << 16 | (uint32_t)len[3] << 24;
      if (n == WAIT_PID_FRAME) {
        unsigned char pb[4];
        if (read_full(CTL_FD, pb, 4) != 1) die("read fd 3");
        wait_for = (pid_t)(pb[0] | pb[1] << 8 | pb[2] << 16 | (uint32_t)pb[3] << 24);
        break;
      }
      if (n > MAX_MSG) {
        errno = EMSGSIZE;
        die("request");
      }
      if (read_full(CTL_FD, buf, n) != 1) die("read fd 3");
      if (send(sv[0], buf, n, MSG_NOSIGNAL) < 0) die("send to criu");
    }
  }
  close(sv[0]);
  /* criu may finish before the caller's "wait for this pid" frame arrives: read fd 3 to its end */
  while (wait_for == 0) {
    unsigned char len[4];
    if (read_full(CTL_FD, len, 4) != 1) break;
    uint32_t n = len[0] | len[1] << 8 | len[2] << 16 | (uint32_t)len[3] << 24;
    if (n == WAIT_PID_FRAME) {
      unsigned char pb[4];
      if (read_full(CTL_FD, pb, 4) != 1) die("read fd 3");
      wait_for = (pid_t)(pb[0] | pb[1] << 8 | pb[2] << 16 | (uint32_t)pb[3] << 24);
      break;
    }
    if (n > MAX_MSG || read_full(CTL_FD, buf, n) != 1) break; /* criu is gone: nothing to send to */
  }
  int status;
  while (waitpid(criu, &status, 0) < 0)
    if (errno != EINTR) die("waitpid (criu)");
  if (wait_for > 0) {
    int code = wait_container(wait_for);
    return code;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

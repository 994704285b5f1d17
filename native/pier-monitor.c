/*
 * pier-monitor: the per-container monitor of pierd (the role of podman's conmon or containerd's
 * shim). libc only, no policy: pierd decides everything and passes it as arguments.
 *
 *   pier-monitor -l LOG -p PIDFILE -e EXITFILE [-a ATTACH_SOCKET [-o]] [-s FD]
 *                [-c CONSOLE_SOCKET] [-w CTL_FIFO] [-m MAX_BYTES -n N] [-k CRI_LOG] -- CMD ARGS...
 *   pier-monitor -x [-c CONSOLE_SOCKET] [-w CTL_FIFO] -- CMD ARGS...
 *
 *   pier-monitor --args-on-stdin     (a spare: the arguments above arrive later, see below)
 *
 * With -s, the inherited fd FD is handed to CMD as its fd 3 (and to nothing else): pierd runs
 * pier-init directly as CMD and speaks its sync protocol over that socket, so no runtime process
 * starts per container.
 *
 * What it does, in order:
 *   1. Detaches from pierd (fork, setsid, fork) so that a pierd restart or crash leaves the
 *      container running. The first process exits at once; pierd learns the monitor's pid from
 *      the status channel (fd 3, see below).
 *   2. Becomes a child subreaper, makes pipes for the container's stdout and stderr (and stdin
 *      when -a is given), and runs CMD (the runtime's `create --pid-file PIDFILE`) with them as
 *      its stdio. The runtime's helper detaches from CMD, so the container's init is re-parented
 *      here: this process can wait(2) for it and so knows its real exit status.
 *   3. Copies stdout/stderr into LOG in Docker's json-file format, one object per line:
 *      {"log":"hi\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}.
 *   4. With -a, accepts connections on the unix socket ATTACH_SOCKET and writes what they send
 *      to the container's stdin; with -o too, the end of the first connection closes stdin
 *      (Docker's StdinOnce), else stdin stays open for the next client.
 *   5. When the container's init exits and its output is drained, writes EXITFILE atomically
 *      (temp file + rename): {"exitCode":N,"finishedAt":"..."} (N = status, or 128+signal), or
 *      {"exitCode":-1,"createFailed":true,...} when CMD failed; then exits.
 *
 * Status channel: when fd 3 is open at start, these lines are written to it:
 *   "monitor PID"  once detached;
 *   "created PID"  once CMD succeeded (PID = the container's init), or "failed STATUS";
 *   "exited CODE"  at the end. fd 3 stays open until the monitor exits, so its reader sees EOF
 *   exactly when the monitor is gone.
 *
 * The container never inherits a monitor fd other than its stdio: every other fd is closed
 * before CMD is executed.
 *
 * Terminals and control (all optional):
 *   -c CONSOLE_SOCKET  listen there for the pty master that the runtime sends (its
 *                      --console-socket); pty output is logged as "stdout" as soon as it is read
 *                      (a prompt has no newline), and attach input is written to the pty.
 *                      The monitor holds the pty's other end (TIOCGPTPEER) until the container's
 *                      init exits: a guest systemd closes its stdio and opens /dev/console anew
 *                      for each message, and a pty whose last slave closed would read EIO at the
 *                      master (which is then closed) and refuse every later open with EIO.
 *   -w CTL_FIFO        a FIFO the monitor creates and reads: "resize ROWS COLS\n" applies
 *                      TIOCSWINSZ to the pty (kept until the pty arrives when it is early).
 *   -m MAX_BYTES -n N  json-file rotation as Docker's: before a record is written to a log of at
 *                      least MAX_BYTES, LOG.(i-1) becomes LOG.i down to LOG -> LOG.1 and a new LOG
 *                      is started; N counts LOG itself, so N=1 truncates LOG instead.
 *   -k CRI_LOG         also write the output to CRI_LOG in the Kubernetes CRI log format, one
 *                      line per record: "2024-01-02T03:04:05.123456789Z stdout F hi" (F: a full
 *                      line, its newline dropped; P: a partial one, continued by the next record).
 *                      SIGUSR1 reopens CRI_LOG (the kubelet renamed it to rotate it: the CRI's
 *                      ReopenContainerLog).
 *   -x                 exec mode: no detaching, no log, no pid or exit file. CMD (the runtime's
 *                      `exec --tty --console-socket`) gets /dev/null as stdin and the monitor's
 *                      stderr as stdout and stderr; the pty is copied to and from the monitor's
 *                      own stdout and stdin; the monitor exits with CMD's exit code.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 16384 /* Docker splits longer lines into partial messages of this size. */

static int status_fd = -1;
static int log_fd = -1;
static const char *log_name;
static long long log_max = -1, log_size;
static int log_files = 1;
static int cri_fd = -1;
static const char *cri_name;

static void status_line(const char *fmt, ...) {
  if (status_fd < 0) return;
  char buf[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0 && write(status_fd, buf, (size_t)n) < 0) status_fd = -1; /* reader gone: fine */
}

static void die(const char *what) {
  status_line("failed %s: %s\n", what, strerror(errno));
  _exit(125);
}

/* RFC 3339 with nanoseconds and trailing zeros trimmed, as Go's time.RFC3339Nano. */
static void now_rfc3339(char *out, size_t len) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
  if (ts.tv_nsec) {
    char frac[16];
    snprintf(frac, sizeof frac, ".%09ld", ts.tv_nsec);
    size_t f = strlen(frac);
    while (frac[f - 1] == '0') frac[--f] = 0;
    snprintf(out + n, len - n, "%sZ", frac);
  } else {
    snprintf(out + n, len - n, "Z");
  }
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return; /* a full disk loses log lines, never the container */
    }
    p += w;
    n -= (size_t)w;
  }
}

/* Docker's json-file rotation (see the header). When a rename fails the old file keeps growing. */
static void rotate_log(void) {
  char from[4200], to[4200];
  if (log_files >= 2) {
    for (int i = log_files - 1; i >= 2; i--) {
      snprintf(from, sizeof from, "%s.%d", log_name, i - 1);
      snprintf(to, sizeof to, "%s.%d", log_name, i);
      rename(from, to); /* ENOENT: not that many files yet */
    }
    snprintf(to, sizeof to, "%s.1", log_name);
    if (rename(log_name, to) < 0) return;
  }
  int fd = open(log_name, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return;
  close(log_fd);
  log_fd = fd;
  log_size = 0;
}

/* (Re)opens the CRI log; a failure keeps the old fd (output goes on to the renamed file). */
static void open_cri_log(void) {
  int fd = open(cri_name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return;
  if (cri_fd >= 0) close(cri_fd);
  cri_fd = fd;
}

/* One CRI log record: "TIME STREAM F|P TEXT\n", the newline of a full line replaced by the tag. */
static void cri_record(const char *stream, const char *data, size_t len, const char *t) {
  static char out[LINE_MAX_BYTES + 128];
  int full = len > 0 && data[len - 1] == '\n';
  if (full) len--;
  int o = snprintf(out, sizeof out, "%s %s %c ", t, stream, full ? 'F' : 'P');
  memcpy(out + o, data, len);
  out[o + (int)len] = '\n';
  write_all(cri_fd, out, (size_t)o + len + 1);
}

/* One json-file record; strings escaped as Go's encoding/json does (HTML-safe). */
static void log_record(const char *stream, const char *data, size_t len) {
  static char out[LINE_MAX_BYTES * 6 + 256];
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  o += (size_t)sprintf(out, "{\"log\":\"");
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)data[i];
    switch (c) {
    case '"': out[o++] = '\\'; out[o++] = '"'; break;
    case '\\': out[o++] = '\\'; out[o++] = '\\'; break;
    case '\n': out[o++] = '\\'; out[o++] = 'n'; break;
    case '\r': out[o++] = '\\'; out[o++] = 'r'; break;
    case '\t': out[o++] = '\\'; out[o++] = 't'; break;
    default:
      if (c < 0x20 || c == '<' || c == '>' || c == '&') {
        memcpy(out + o, "\\u00", 4);
        o += 4;
        out[o++] = hex[c >> 4];
        out[o++] = hex[c & 15];
      } else {
        out[o++] = (char)c;
      }
    }
  }
  char t[64];
  now_rfc3339(t, sizeof t);
  if (cri_fd >= 0) cri_record(stream, data, len, t);
  o += (size_t)sprintf(out + o, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream, t);
  if (log_max > 0 && log_size >= log_max) rotate_log();
  write_all(log_fd, out, o);
  log_size += (long long)o;
}

struct stream {
  const char *name;
  int fd;
  int tty;    /* a pty: what was read is logged at once, complete line or not */
  int raw_fd; /* exec mode: copied there as it is, not logged */
  char buf[LINE_MAX_BYTES];
  size_t len;
};

/* How many bytes at the end of p[0..n) are an incomplete UTF-8 sequence (0 to 3). */
static size_t utf8_cut(const char *p, size_t n) {
  for (size_t back = 1; back <= 3 && back <= n; back++) {
    unsigned char c = (unsigned char)p[n - back];
    if ((c & 0xC0) == 0x80) continue; /* a continuation byte: look further back */
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

/* Reads what is available; logs each complete line (and full buffers). Returns 0 at EOF (and at
 * EIO, which is how a pty master reports that its last slave was closed). */
static int pump(struct stream *s) {
  ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
  if (n < 0) return errno == EINTR || errno == EAGAIN ? 1 : 0;
  if (s->raw_fd >= 0) {
    if (n > 0) write_all(s->raw_fd, s->buf, (size_t)n);
    return n > 0;
  }
  if (n == 0) {
    if (s->len) log_record(s->name, s->buf, s->len);
    s->len = 0;
    return 0;
  }
  s->len += (size_t)n;
  size_t start = 0;
  for (size_t i = 0; i < s->len; i++) {
    if (s->buf[i] == '\n') {
      log_record(s->name, s->buf + start, i + 1 - start);
      start = i + 1;
    }
  }
  if (s->tty && start < s->len && s->len < sizeof s->buf) {
    /* A terminal's text goes out as read, but never a UTF-8 character cut in two. */
    size_t keep = utf8_cut(s->buf + start, s->len - start);
    if (s->len - start > keep) log_record(s->name, s->buf + start, s->len - start - keep);
    memmove(s->buf, s->buf + s->len - keep, keep);
    s->len = keep;
  } else if ((s->tty && start < s->len) || (start == 0 && s->len == sizeof s->buf)) {
    log_record(s->name, s->buf + start, s->len - start);
    s->len = 0;
  } else if (start > 0) {
    memmove(s->buf, s->buf + start, s->len - start);
    s->len -= start;
  }
  return 1;
}

/* Closes fds lo..hi: one close_range(2), or one close per fd on kernels without it. */
static void close_fd_range(unsigned lo, unsigned hi) {
  if (lo > hi || syscall(SYS_close_range, lo, hi, 0) == 0) return;
  for (unsigned fd = lo; fd < 4096 && fd <= hi; fd++) close((int)fd);
}

/* Closes every fd from `first` up except `keep` (-1: none). */
static void close_fds_from(int first, int keep) {
  if (keep >= first) {
    close_fd_range((unsigned)first, (unsigned)keep - 1);
    close_fd_range((unsigned)keep + 1, ~0U);
  } else {
    close_fd_range((unsigned)first, ~0U);
  }
}

static void write_exit_file(const char *path, int code, int create_failed) {
  char tmp[4096], t[64], body[256];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  now_rfc3339(t, sizeof t);
  int n = snprintf(body, sizeof body, "{\"exitCode\":%d,\"finishedAt\":\"%s\"%s}\n", code, t,
                   create_failed ? ",\"createFailed\":true" : "");
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  write_all(fd, body, (size_t)n);
  /* No fsync: the rename makes the file whole for pierd, even one that crashed meanwhile; only a
   * power cut could lose it, and with it the container it describes. */
  close(fd);
  rename(tmp, path);
}

static int read_pid_file(const char *path) {
  char buf[32] = {0};
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 ? atoi(buf) : -1;
}

static int exit_code(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 255;
}

/* A listening unix socket at `path` (mode 0600), non-blocking; dies naming `what` on failure. */
static int listen_unix(const char *path, const char *what) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) {
    errno = ENAMETOOLONG;
    die(what);
  }
  strcpy(sa.sun_path, path);
  unlink(path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0) die(what);
  chmod(path, 0600);
  return fd;
}

/* The fd sent with SCM_RIGHTS on a console connection: >= 0; -1 for a message without one; -2
 * once the connection is closed. */
static int recv_fd(int conn) {
  char name[128];
  struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return -1;
  if (n <= 0) return -2;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

/* Input for the container that waits for room in its stdin (a pipe, or the pty): written without
 * blocking, so that a container that stops reading never stops the monitor from draining its
 * output (which would deadlock both). */
struct pending {
  char buf[8192];
  size_t len, off;
};

/* Writes what fits now; returns 0 once the target is gone (what was left is dropped). */
static int flush_pending(struct pending *p, int fd) {
  while (p->off < p->len) {
    ssize_t w = write(fd, p->buf + p->off, p->len - p->off);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 1;
      p->len = p->off = 0;
      return 0;
    }
    p->off += (size_t)w;
  }
  p->len = p->off = 0;
  return 1;
}

/* Reads from `from` into the empty `p` and writes what fits to `to`: -1 at EOF, else 0. */
static int take_input(int from, struct pending *p, int to) {
  ssize_t n = read(from, p->buf, sizeof p->buf);
  if (n < 0) return errno == EINTR || errno == EAGAIN ? 0 : -1;
  if (n == 0) return -1;
  if (to < 0) return 0; /* nowhere to go: dropped, as a closed stdin would */
  p->len = (size_t)n;
  p->off = 0;
  flush_pending(p, to);
  return 0;
}

static unsigned short want_rows, want_cols;

static void apply_size(int master) {
  if (master < 0 || (!want_rows && !want_cols)) return;
  struct winsize ws = {.ws_row = want_rows, .ws_col = want_cols};
  ioctl(master, TIOCSWINSZ, &ws); /* the kernel sends SIGWINCH to the pty's foreground group */
}

/* The control FIFO, held open for reading and writing so that it never reads EOF. */
static int open_ctl(const char *path) {
  unlink(path);
  if (mkfifo(path, 0600) < 0) die("control fifo");
  int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) die("control fifo");
  return fd;
}

/* Reads control lines ("resize ROWS COLS"); anything else is ignored. */
static void read_ctl(int fd, int master) {
  static char buf[256];
  static size_t len;
  ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
  if (n <= 0) return;
  len += (size_t)n;
  char *nl;
  while ((nl = memchr(buf, '\n', len)) != NULL) {
    *nl = 0;
    unsigned r, c;
    if (sscanf(buf, "resize %u %u", &r, &c) == 2 && r < 65536 && c < 65536) {
      want_rows = (unsigned short)r;
      want_cols = (unsigned short)c;
      apply_size(master);
    }
    size_t used = (size_t)(nl + 1 - buf);
    memmove(buf, nl + 1, len - used);
    len -= used;
  }
  if (len == sizeof buf - 1) len = 0; /* no command is that long */
}

/* Takes the pty master from the console connection once it arrives (see the header); with
 * `peer`, also opens the pty's slave end there (left -1 where the kernel cannot: before 4.13). */
static void console_step(int *lis, int *conn, struct stream *pty, short lis_ev, short conn_ev, int *peer) {
  if (*lis >= 0 && lis_ev) {
    int c = accept4(*lis, NULL, NULL, SOCK_CLOEXEC);
    if (c >= 0) {
      if (*conn >= 0) close(*conn);
      *conn = c;
    }
  }
  if (*conn >= 0 && conn_ev) {
    int fd = recv_fd(*conn);
    if (fd >= 0 && pty->fd < 0) {
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      pty->fd = fd;
      if (peer) *peer = ioctl(fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
      apply_size(fd);
      close(*conn);
      *conn = -1;
      close(*lis);
      *lis = -1;
    } else if (fd >= 0) {
      close(fd);
    } else if (fd == -2) {
      close(*conn);
      *conn = -1;
    }
  }
}

/* Exec mode (-x, see the header). Returns CMD's exit code. */
static int exec_main(char **cmd, const char *console_path, const char *ctl_path) {
  signal(SIGPIPE, SIG_IGN);
  int lis = console_path ? listen_unix(console_path, "console socket") : -1;
  int ctl = ctl_path ? open_ctl(ctl_path) : -1;
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("signalfd");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_DFL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(2, 1) < 0) _exit(127);
    close_fds_from(3, -1);
    execvp(cmd[0], cmd);
    _exit(127);
  }
  static struct stream pty = {.name = "stdout", .fd = -1, .raw_fd = 1};
  static struct pending pend;
  int conn = -1, in_open = 1, status = -1, deadline_ms = -1;
  for (;;) {
    if (status >= 0 && pty.fd < 0) break;
    struct pollfd fds[7];
    int nf = 0, i_sig, i_lis = -1, i_con = -1, i_ctl = -1, i_pty = -1, i_in = -1, i_out = -1;
    i_sig = nf;
    fds[nf++] = (struct pollfd){sfd, POLLIN, 0};
    if (lis >= 0) { i_lis = nf; fds[nf++] = (struct pollfd){lis, POLLIN, 0}; }
    if (conn >= 0) { i_con = nf; fds[nf++] = (struct pollfd){conn, POLLIN, 0}; }
    if (ctl >= 0) { i_ctl = nf; fds[nf++] = (struct pollfd){ctl, POLLIN, 0}; }
    if (pty.fd >= 0) { i_pty = nf; fds[nf++] = (struct pollfd){pty.fd, POLLIN, 0}; }
    if (pty.fd >= 0 && in_open && !pend.len) { i_in = nf; fds[nf++] = (struct pollfd){0, POLLIN, 0}; }
    if (pty.fd >= 0 && pend.len) { i_out = nf; fds[nf++] = (struct pollfd){pty.fd, POLLOUT, 0}; }
    int r = poll(fds, (nfds_t)nf, deadline_ms);
    if (r < 0 && errno != EINTR) break;
    if (r == 0 && status >= 0) break; /* a background process holds the pty */
    if (r <= 0) continue;
    console_step(&lis, &conn, &pty, i_lis >= 0 ? fds[i_lis].revents : 0, i_con >= 0 ? fds[i_con].revents : 0,
                 NULL);
    if (i_ctl >= 0 && fds[i_ctl].revents) read_ctl(ctl, pty.fd);
    if (i_pty >= 0 && fds[i_pty].revents && !pump(&pty)) {
      close(pty.fd);
      pty.fd = -1;
    }
    if (i_out >= 0 && fds[i_out].revents && pty.fd >= 0) flush_pending(&pend, pty.fd);
    if (i_in >= 0 && fds[i_in].revents && pty.fd >= 0 && take_input(0, &pend, pty.fd) < 0) in_open = 0;
    if (fds[i_sig].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
      }
      int st;
      pid_t w;
      while ((w = waitpid(-1, &st, WNOHANG)) > 0)
        if (w == pid) {
          status = exit_code(st);
          deadline_ms = 2000;
        }
    }
  }
  if (console_path) unlink(console_path);
  if (ctl_path) unlink(ctl_path);
  return status < 0 ? 255 : status;
}

/*
 * --args-on-stdin: pierd starts a spare monitor ahead of time (starting a process from a large
 * Node.js process costs it milliseconds) and hands it its arguments when a container starts, as
 * NUL-terminated strings on stdin up to EOF. An EOF before any argument (pierd discarded the
 * spare, or is gone) ends it quietly.
 */
static char **args_from_stdin(int *argc, char *argv0) {
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (!buf) _exit(125);
    if (len == cap) {
      if (cap > (1u << 20)) _exit(125);
      cap *= 2;
      buf = realloc(buf, cap);
      continue;
    }
    ssize_t r = read(0, buf + len, cap - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) _exit(125);
    if (r == 0) break;
    len += (size_t)r;
  }
  if (len == 0) _exit(0);
  if (buf[len - 1] != '\0') _exit(125);
  int n = 1;
  for (size_t i = 0; i < len; i++) n += buf[i] == '\0';
  char **out = calloc((size_t)n + 1, sizeof *out);
  if (!out) _exit(125);
  out[0] = argv0;
  int k = 1;
  for (size_t i = 0; i < len; i += strlen(buf + i) + 1) out[k++] = buf + i;
  *argc = k;
  return out;
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--args-on-stdin")) argv = args_from_stdin(&argc, argv[0]);
  const char *log_path = NULL, *pid_path = NULL, *exit_path = NULL, *attach_path = NULL;
  const char *console_path = NULL, *ctl_path = NULL;
  int opt, pass_fd = -1, exec_mode = 0, stdin_once = 0;
  while ((opt = getopt(argc, argv, "+l:p:e:a:s:c:w:m:n:k:xo")) != -1) {
    switch (opt) {
    case 'l': log_path = optarg; break;
    case 'p': pid_path = optarg; break;
    case 'e': exit_path = optarg; break;
    case 'a': attach_path = optarg; break;
    case 's': pass_fd = atoi(optarg); break;
    case 'c': console_path = optarg; break;
    case 'w': ctl_path = optarg; break;
    case 'm': log_max = atoll(optarg); break;
    case 'n': log_files = atoi(optarg); break;
    case 'k': cri_name = optarg; break;
    case 'x': exec_mode = 1; break;
    case 'o': stdin_once = 1; break;
    default: return 125;
    }
  }
  if (exec_mode && optind < argc) return exec_main(argv + optind, console_path, ctl_path);
  if (!log_path || !pid_path || !exit_path || optind >= argc) {
    fprintf(stderr, "usage: pier-monitor -l LOG -p PIDFILE -e EXITFILE [-a SOCKET [-o]] [-s FD] [-c SOCKET]"
                    " [-w FIFO] [-m BYTES -n FILES] [-k CRI_LOG] -- CMD ARGS...\n"
                    "       pier-monitor -x [-c SOCKET] [-w FIFO] -- CMD ARGS...\n");
    return 125;
  }
  char **cmd = argv + optind;
  /* Whatever else pierd's process happened to leave open is not the monitor's to keep: a held
   * pipe would keep its reader waiting for an EOF for as long as the container runs. */
  if (pass_fd >= 0 && (pass_fd < 4 || fcntl(pass_fd, F_GETFD) < 0)) {
    fprintf(stderr, "pier-monitor: -s %d: not an open fd above 3\n", pass_fd);
    return 125;
  }
  close_fds_from(4, pass_fd);
  if (pass_fd >= 0) fcntl(pass_fd, F_SETFD, FD_CLOEXEC);
  if (fcntl(3, F_GETFD) >= 0) {
    status_fd = 3;
    fcntl(status_fd, F_SETFD, FD_CLOEXEC);
  }

  /* Detach: the first process returns at once; the grandchild is in its own session. */
  pid_t p = fork();
  if (p < 0) die("fork");
  if (p > 0) _exit(0);
  setsid();
  p = fork();
  if (p < 0) die("fork");
  if (p > 0) _exit(0);
  if (chdir("/") < 0) die("chdir");
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) die("open /dev/null");
  dup2(devnull, 0);
  dup2(devnull, 1);
  dup2(devnull, 2);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  status_line("monitor %d\n", (int)getpid());

  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) die("PR_SET_CHILD_SUBREAPER");
  log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log_fd < 0) die("open log");
  log_name = log_path;
  struct stat log_st;
  if (fstat(log_fd, &log_st) == 0) log_size = log_st.st_size;
  if (cri_name) {
    open_cri_log();
    if (cri_fd < 0) die("open CRI log");
  }
  int con_lis = console_path ? listen_unix(console_path, "console socket") : -1, con_conn = -1;
  int ctl_fd = ctl_path ? open_ctl(ctl_path) : -1;

  int out[2], err[2], in[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) die("pipe");
  int listen_fd = -1;
  if (attach_path) {
    if (pipe2(in, O_CLOEXEC) < 0) die("pipe");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(attach_path) >= sizeof sa.sun_path) {
      errno = ENAMETOOLONG;
      die("attach socket path");
    }
    strcpy(sa.sun_path, attach_path);
    unlink(attach_path);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(listen_fd, 4) < 0)
      die("attach socket");
    chmod(attach_path, 0600);
  }

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGUSR1); /* -k's reopen; without -k it is ignored, never fatal */
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("signalfd");

  pid_t create_pid = fork();
  if (create_pid < 0) die("fork");
  if (create_pid == 0) {
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    dup2(in[0] >= 0 ? in[0] : devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    /* Nothing of the monitor but stdio (and the -s socket as fd 3) reaches CMD. */
    int first = 3;
    if (pass_fd >= 0) {
      if (dup2(pass_fd, 3) < 0) _exit(127); /* dup2 clears close-on-exec on the copy */
      first = 4;
    }
    close_fds_from(first, -1);
    execvp(cmd[0], cmd);
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  if (in[0] >= 0) close(in[0]);
  if (pass_fd >= 0) close(pass_fd);
  int stdin_fd = in[1];
  if (stdin_fd >= 0) fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
  static struct pending pend;
  int close_stdin_when_flushed = 0;

  static struct stream so = {.name = "stdout", .raw_fd = -1}, se = {.name = "stderr", .raw_fd = -1};
  static struct stream pty = {.name = "stdout", .fd = -1, .tty = 1, .raw_fd = -1};
  so.fd = out[0];
  se.fd = err[0];
  int ctr_pid = -1, ctr_status = -1, create_failed = 0, attach_fd = -1, attached_once = 0;
  /* Children reaped before the container's pid was known (it may exit that early). */
  pid_t early_pid[64];
  int early_st[64], n_early = 0;
  int exit_deadline_ms = -1; /* after the container exited: bounded wait for the pipes to drain */
  int pty_peer = -1;         /* the pty's slave end, held while the container runs (see -c) */

  for (;;) {
    if (ctr_status >= 0 && so.fd < 0 && se.fd < 0 && pty.fd < 0) break;
    struct pollfd fds[10];
    int nf = 0, i_out = -1, i_err = -1, i_sig, i_lis = -1, i_att = -1, i_inw = -1;
    int in_target = console_path ? pty.fd : stdin_fd;
    if (in_target < 0) pend.len = pend.off = 0;
    if (pend.len && in_target >= 0) { i_inw = nf; fds[nf++] = (struct pollfd){in_target, POLLOUT, 0}; }
    int i_clis = -1, i_ccon = -1, i_ctl = -1, i_pty = -1;
    if (con_lis >= 0) { i_clis = nf; fds[nf++] = (struct pollfd){con_lis, POLLIN, 0}; }
    if (con_conn >= 0) { i_ccon = nf; fds[nf++] = (struct pollfd){con_conn, POLLIN, 0}; }
    if (ctl_fd >= 0) { i_ctl = nf; fds[nf++] = (struct pollfd){ctl_fd, POLLIN, 0}; }
    if (pty.fd >= 0) { i_pty = nf; fds[nf++] = (struct pollfd){pty.fd, POLLIN, 0}; }
    if (so.fd >= 0) { i_out = nf; fds[nf++] = (struct pollfd){so.fd, POLLIN, 0}; }
    if (se.fd >= 0) { i_err = nf; fds[nf++] = (struct pollfd){se.fd, POLLIN, 0}; }
    i_sig = nf;
    fds[nf++] = (struct pollfd){sfd, POLLIN, 0};
    if (listen_fd >= 0 && attach_fd < 0) { i_lis = nf; fds[nf++] = (struct pollfd){listen_fd, POLLIN, 0}; }
    if (attach_fd >= 0 && !pend.len) { i_att = nf; fds[nf++] = (struct pollfd){attach_fd, POLLIN, 0}; }
    /* While the container runs, wake up now and then to notice an init that someone else
     * reaped (it never was our child): then its status is unknowable and reported as 255. */
    int r = poll(fds, (nfds_t)nf, exit_deadline_ms >= 0 ? exit_deadline_ms : 1000);
    if (r == 0 && ctr_status < 0 && ctr_pid > 0 && kill(ctr_pid, 0) < 0 && errno == ESRCH) {
      ctr_status = 255;
      exit_deadline_ms = 500;
      continue;
    }
    if (r < 0 && errno != EINTR) break;
    if (r == 0 && ctr_status >= 0 && exit_deadline_ms >= 0) break; /* a background process holds a pipe */
    if (i_out >= 0 && fds[i_out].revents && !pump(&so)) { close(so.fd); so.fd = -1; }
    if (i_err >= 0 && fds[i_err].revents && !pump(&se)) { close(se.fd); se.fd = -1; }
    console_step(&con_lis, &con_conn, &pty, i_clis >= 0 ? fds[i_clis].revents : 0,
                 i_ccon >= 0 ? fds[i_ccon].revents : 0, &pty_peer);
    if (i_ctl >= 0 && fds[i_ctl].revents) read_ctl(ctl_fd, pty.fd);
    if (i_pty >= 0 && fds[i_pty].revents && !pump(&pty)) { close(pty.fd); pty.fd = -1; }
    if (i_lis >= 0 && fds[i_lis].revents) {
      attach_fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    }
    if (i_inw >= 0 && fds[i_inw].revents && !flush_pending(&pend, in_target) && !console_path) {
      close(stdin_fd); /* the container closed its stdin */
      stdin_fd = -1;
    }
    if (i_att >= 0 && fds[i_att].revents && take_input(attach_fd, &pend, in_target) < 0) {
      close(attach_fd);
      attach_fd = -1;
      /* A terminal has no end of input: the next client may type on. */
      if (stdin_once && !attached_once && stdin_fd >= 0 && !console_path)
        close_stdin_when_flushed = 1; /* StdinOnce: the first client's EOF is the container's EOF */
      attached_once = 1;
    }
    if (close_stdin_when_flushed && !pend.len) {
      close(stdin_fd);
      stdin_fd = -1;
      close_stdin_when_flushed = 0;
    }
    if (fds[i_sig].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGUSR1 && cri_name) open_cri_log();
      }
      int st;
      pid_t w;
      while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
        if (w == create_pid) {
          if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            create_failed = 1;
            ctr_status = exit_code(st);
            status_line("failed %d\n", ctr_status);
            exit_deadline_ms = 500;
            continue;
          }
          ctr_pid = read_pid_file(pid_path);
          if (ctr_pid <= 0) {
            create_failed = 1;
            ctr_status = 255;
            status_line("failed no pid file\n");
            exit_deadline_ms = 500;
            continue;
          }
          status_line("created %d\n", ctr_pid);
          for (int k = 0; k < n_early; k++)
            if (early_pid[k] == ctr_pid) {
              ctr_status = exit_code(early_st[k]);
              exit_deadline_ms = 2000;
            }
        } else if (ctr_pid > 0 && w == ctr_pid) {
          ctr_status = exit_code(st);
          exit_deadline_ms = 2000;
        } else if (ctr_pid <= 0 && n_early < 64) {
          early_pid[n_early] = w;
          early_st[n_early++] = st;
        }
      }
    }
    if (ctr_status >= 0 && pty_peer >= 0) {
      /* The init is gone: what is left in the pty drains, then the master reads EIO. */
      close(pty_peer);
      pty_peer = -1;
    }
  }
  /* The paths go before the exit file does: once pierd sees that file it may start the container
   * again, and the next monitor's sockets at the same paths must not be unlinked by this one. */
  if (attach_path) unlink(attach_path);
  if (console_path) unlink(console_path);
  if (ctl_path) unlink(ctl_path);
  if (create_failed) {
    write_exit_file(exit_path, -1, 1);
  } else {
    write_exit_file(exit_path, ctr_status, 0);
  }
  status_line("exited %d\n", create_failed ? -1 : ctr_status);
  return 0;
}

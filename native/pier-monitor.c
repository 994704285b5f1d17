/*
 * pier-monitor: the per-container monitor of pierd (the role of podman's conmon or containerd's
 * shim). libc only, no policy: pierd decides everything and passes it as arguments.
 *
 *   pier-monitor -l LOG -p PIDFILE -e EXITFILE [-a ATTACH_SOCKET] [-s FD] -- CMD ARGS...
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
 *      to the container's stdin; the end of the first connection closes stdin (Docker's
 *      StdinOnce).
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
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 16384 /* Docker splits longer lines into partial messages of this size. */

static int status_fd = -1;
static int log_fd = -1;

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
  o += (size_t)sprintf(out + o, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream, t);
  write_all(log_fd, out, o);
}

struct stream {
  const char *name;
  int fd;
  char buf[LINE_MAX_BYTES];
  size_t len;
};

/* Reads what is available; logs each complete line (and full buffers). Returns 0 at EOF. */
static int pump(struct stream *s) {
  ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
  if (n < 0) return errno == EINTR || errno == EAGAIN ? 1 : 0;
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
  if (start == 0 && s->len == sizeof s->buf) {
    log_record(s->name, s->buf, s->len);
    s->len = 0;
  } else if (start > 0) {
    memmove(s->buf, s->buf + start, s->len - start);
    s->len -= start;
  }
  return 1;
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
  fsync(fd);
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

int main(int argc, char **argv) {
  const char *log_path = NULL, *pid_path = NULL, *exit_path = NULL, *attach_path = NULL;
  int opt, pass_fd = -1;
  while ((opt = getopt(argc, argv, "+l:p:e:a:s:")) != -1) {
    switch (opt) {
    case 'l': log_path = optarg; break;
    case 'p': pid_path = optarg; break;
    case 'e': exit_path = optarg; break;
    case 'a': attach_path = optarg; break;
    case 's': pass_fd = atoi(optarg); break;
    default: return 125;
    }
  }
  if (!log_path || !pid_path || !exit_path || optind >= argc) {
    fprintf(stderr, "usage: pier-monitor -l LOG -p PIDFILE -e EXITFILE [-a SOCKET] -- CMD ARGS...\n");
    return 125;
  }
  char **cmd = argv + optind;
  /* Whatever else pierd's process happened to leave open is not the monitor's to keep: a held
   * pipe would keep its reader waiting for an EOF for as long as the container runs. */
  if (pass_fd >= 0 && (pass_fd < 4 || fcntl(pass_fd, F_GETFD) < 0)) {
    fprintf(stderr, "pier-monitor: -s %d: not an open fd above 3\n", pass_fd);
    return 125;
  }
  for (int fd = 4; fd < 1024; fd++)
    if (fd != pass_fd) close(fd);
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
    for (int fd = first; fd < 1024; fd++) close(fd);
    execvp(cmd[0], cmd);
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  if (in[0] >= 0) close(in[0]);
  if (pass_fd >= 0) close(pass_fd);
  int stdin_fd = in[1];

  static struct stream so = {.name = "stdout"}, se = {.name = "stderr"};
  so.fd = out[0];
  se.fd = err[0];
  int ctr_pid = -1, ctr_status = -1, create_failed = 0, attach_fd = -1, attached_once = 0;
  /* Children reaped before the container's pid was known (it may exit that early). */
  pid_t early_pid[64];
  int early_st[64], n_early = 0;
  int exit_deadline_ms = -1; /* after the container exited: bounded wait for the pipes to drain */

  for (;;) {
    if (ctr_status >= 0 && so.fd < 0 && se.fd < 0) break;
    struct pollfd fds[5];
    int nf = 0, i_out = -1, i_err = -1, i_sig, i_lis = -1, i_att = -1;
    if (so.fd >= 0) { i_out = nf; fds[nf++] = (struct pollfd){so.fd, POLLIN, 0}; }
    if (se.fd >= 0) { i_err = nf; fds[nf++] = (struct pollfd){se.fd, POLLIN, 0}; }
    i_sig = nf;
    fds[nf++] = (struct pollfd){sfd, POLLIN, 0};
    if (listen_fd >= 0 && attach_fd < 0) { i_lis = nf; fds[nf++] = (struct pollfd){listen_fd, POLLIN, 0}; }
    if (attach_fd >= 0) { i_att = nf; fds[nf++] = (struct pollfd){attach_fd, POLLIN, 0}; }
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
    if (i_lis >= 0 && fds[i_lis].revents) {
      attach_fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    }
    if (i_att >= 0 && fds[i_att].revents) {
      char buf[8192];
      ssize_t n = read(attach_fd, buf, sizeof buf);
      if (n > 0 && stdin_fd >= 0) {
        write_all(stdin_fd, buf, (size_t)n);
      } else if (n <= 0 && !(n < 0 && errno == EINTR)) {
        close(attach_fd);
        attach_fd = -1;
        if (!attached_once && stdin_fd >= 0) {
          close(stdin_fd); /* StdinOnce: the first client's EOF is the container's EOF */
          stdin_fd = -1;
        }
        attached_once = 1;
      }
    }
    if (fds[i_sig].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
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
  }
  if (create_failed) {
    write_exit_file(exit_path, -1, 1);
  } else {
    write_exit_file(exit_path, ctr_status, 0);
  }
  status_line("exited %d\n", create_failed ? -1 : ctr_status);
  if (attach_path) unlink(attach_path);
  return 0;
}

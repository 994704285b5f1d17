/*
 * pier-init: the native executor of pier-runtime.
 *
 * Node.js is multi-threaded, and clone with namespace flags, setns into a mount namespace and a
 * safe fork need a single-threaded process. This program only EXECUTES a plan that TypeScript
 * computed (src/runtime/plan/): it holds no policy. The plan arrives on the sync socket whose fd
 * number is argv[1], as "<length>\n" followed by records; each record is NUL-terminated tokens:
 * the op name, the argument count in decimal, then the arguments. Ops run in order, each through
 * the table of plan-ops.h (generated from src/runtime/plan/op-table.ts, the one list of ops and
 * their arguments that also types the TypeScript side): an unknown op or a wrong argument count
 * ends the plan with an error naming it. The `clone` op splits the process: the parent writes id
 * maps, reports the child's pid, and exits or waits (per `mode`); the child runs the remaining
 * ops and ends with `exec`.
 *
 * Messages to TypeScript on the sync socket are lines: "pid N", "sync NAME" (then waits for a
 * reply line "ok" or "ok STATEJSON"; anything else aborts), "notify NAME", "error MESSAGE".
 *
 * argv[2], when given, is the control channel of the resident runtime service (see ctl-relay.h):
 * the pier-runtime front end execs pier-init with it, so the parent process, instead of exiting
 * on its own, relays the service's output and exits with the status the service names (after
 * reporting "exited N" in wait mode). The container never sees that fd.
 *
 * Security: the binary re-executes itself from a sealed memfd copy so that a container cannot
 * overwrite it through /proc/self/exe (CVE-2019-5736); mount destinations are resolved with
 * openat2(RESOLVE_IN_ROOT) and mounted through /proc/self/fd (CVE-2021-30465); every fd it opens
 * is close-on-exec and all fds above stdio + preserved fds get close-on-exec before execve
 * (CVE-2024-21626); the /dev/null used for masking is verified to be char device 1:3
 * (CVE-2025-31133) and /proc is verified to be procfs before writes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/personality.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "console-proxy.h"
#include "ctl-relay.h"

#define MAX_ARGS 4096

static int sync_fd = -1;      /* socket to TypeScript; -1 once closed */
static int ctl_fd = -1;       /* control channel of the runtime service (argv[2]); the parent's only */
static int preserve_fds = 0;  /* fds 3..3+preserve_fds-1 reach the container */
static int root_fd = -1;      /* O_PATH fd of the rootfs (host view, before pivot_root) */
static char *root_path = NULL;
static int fifo_fd = -1;      /* O_PATH fd of the exec fifo */
static int console_sock = -1; /* connected --console-socket */
static int proxy_sock = -1;   /* parent's end when pier-init itself proxies the pty (`run` with a tty) */
static int wait_mode = 0;     /* parent waits for the child and exits with its status */
static char *parent_pidfile = NULL; /* written by the parent before it reports the pid (engine monitors) */
static char *state_json = NULL;
static char *seccomp_msg = NULL;
static int listener_sock = -1;
static size_t state_len = 0;
static char **envv = NULL;
static pid_t child_pid = 0;
static unsigned short con_rows = 0, con_cols = 0;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Reports a failure to TypeScript (or stderr when the socket is gone) and exits 1. */
static void die(const char *fmt, ...) {
  char msg[2048];
  int saved = errno;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  (void)saved;
  char line[2200];
  int n = snprintf(line, sizeof line, "error %s\n", msg);
  for (char *p = line + 6; p < line + n - 1; p++)
    if (*p == '\n') *p = ' ';
  if (sync_fd >= 0) {
    if (write(sync_fd, line, (size_t)n) < 0) {
    }
    if (ctl_fd >= 0) {
      /* Started by the front end for the runtime service: the service reports the error and
       * names the exit status. */
      close(sync_fd);
      ctl_relay(ctl_fd, 1);
    }
    /* Stay until the runtime has read the line and hangs up (bounded): a reply it writes to a
     * sync point meanwhile must not find the socket closed, which would lose the line. */
    shutdown(sync_fd, SHUT_WR);
    struct pollfd p = {.fd = sync_fd, .events = POLLIN};
    char drain[256];
    while (poll(&p, 1, 10000) > 0 && read(sync_fd, drain, sizeof drain) > 0) {
    }
  } else {
    if (write(2, "pier-init: ", 11) < 0 || write(2, line + 6, (size_t)n - 6) < 0) {
    }
  }
  _exit(1);
}

static void write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write: %s", strerror(errno));
    }
    p += w;
    len -= (size_t)w;
  }
}

static void send_line(const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  line[n++] = '\n';
  if (sync_fd >= 0) write_all(sync_fd, line, (size_t)n);
}

/* Reads one reply line from TypeScript into a malloc'd buffer (without the newline). */
static char *read_line(int fd) {
  size_t cap = 256, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    char c;
    ssize_t r = read(fd, &c, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die("sync socket closed by the runtime");
    if (c == '\n') break;
    if (len + 2 >= cap) buf = realloc(buf, cap *= 2);
    buf[len++] = c;
  }
  buf[len] = 0;
  return buf;
}

/* ---- memfd self re-exec (CVE-2019-5736) ---- */

static int is_sealed_self(void) {
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  int seals = fcntl(fd, F_GET_SEALS);
  close(fd);
  return seals >= 0 && (seals & (F_SEAL_SEAL | F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)) ==
                           (F_SEAL_SEAL | F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW);
}

/* A sealed memfd copy of this binary: nothing can write to it, whoever holds it. */
static int sealed_copy(void) {
  int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (src < 0) die("open /proc/self/exe: %s", strerror(errno));
  int mfd = memfd_create("pier-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) die("memfd_create: %s", strerror(errno));
  char buf[65536];
  for (;;) {
    ssize_t r = read(src, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("read /proc/self/exe: %s", strerror(errno));
    if (r == 0) break;
    write_all(mfd, buf, (size_t)r);
  }
  close(src);
  if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW) < 0)
    die("seal memfd: %s", strerror(errno));
  return mfd;
}

static void reexec_from_memfd(char **argv, char **envp) {
  if (is_sealed_self()) return;
  int mfd = sealed_copy();
  fexecve(mfd, argv, envp);
  die("fexecve memfd: %s", strerror(errno));
}

/* ---- plan parsing ---- */

typedef struct {
  char *op;
  int argc;
  char **argv;
} record_t;

/* The dispatch table (plan_ops, sorted by name) and the prototypes of the op_NAME handlers. */
#include "plan-ops.h"

static char *plan_buf;
static size_t plan_len, plan_pos;

static char *next_token(void) {
  if (plan_pos >= plan_len) die("plan truncated");
  char *t = plan_buf + plan_pos;
  char *end = memchr(t, 0, plan_len - plan_pos);
  if (!end) die("plan token not terminated");
  plan_pos = (size_t)(end - plan_buf) + 1;
  return t;
}

static int next_record(record_t *r) {
  if (plan_pos >= plan_len) return 0;
  r->op = next_token();
  r->argc = atoi(next_token());
  if (r->argc < 0 || r->argc > MAX_ARGS) die("plan: bad argument count for %s", r->op);
  r->argv = calloc((size_t)r->argc + 1, sizeof(char *));
  for (int i = 0; i < r->argc; i++) r->argv[i] = next_token();
  return 1;
}

/*
 * The runtime service's caller becomes pier-init before the service has made the plan (see
 * `launchEarly` in src/runtime/lifecycle/create.ts): meanwhile this process relays what the
 * service says on the control channel, as the front end did before (warnings now, before the
 * container's output; on a failure the error and the exit status, and then no plan comes).
 */
static void await_plan(void) {
  struct pollfd p[2] = {{.fd = ctl_fd, .events = POLLIN}, {.fd = sync_fd, .events = POLLIN}};
  char line[256];
  for (;;) {
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll: %s", strerror(errno));
    }
    if (p[0].revents) {
      /* One message at a time (ctl_next would block for the next one while the plan waits). */
      int out = 0;
      if (ctl_read_line(ctl_fd, line, sizeof line)) {
        out = !strncmp(line, "out ", 4) ? 1 : !strncmp(line, "err ", 4) ? 2 : 0;
        if (!out && !strncmp(line, "exit ", 5)) _exit(atoi(line + 5) & 0xff);
        if (!out || ctl_copy(ctl_fd, out, (size_t)strtoul(line + 4, NULL, 10))) continue;
      }
      if (write(2, "pier-init: the runtime service went away\n", 41) < 0) {
      }
      _exit(1);
    }
    if (p[1].revents) return;
  }
}

static void read_plan(void) {
  if (ctl_fd >= 0) await_plan();
  char *hdr = read_line(sync_fd);
  plan_len = strtoul(hdr, NULL, 10);
  free(hdr);
  plan_buf = malloc(plan_len + 1);
  size_t got = 0;
  while (got < plan_len) {
    ssize_t r = read(sync_fd, plan_buf + got, plan_len - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die("plan truncated");
    got += (size_t)r;
  }
  plan_pos = 0;
}

static unsigned long long num(const char *s) { return strtoull(s, NULL, 0); }

/*
 * A uid or gid of the plan: decimal, 0 to 2^32-2. More would wrap modulo 2^32 in uid_t (2^32 is
 * root) and 2^32-1 is (uid_t)-1; TypeScript refuses both first, this is the backstop.
 */
static uint32_t id_arg(const char *s, const char *what) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (s[0] < '0' || s[0] > '9' || *end || errno || v > 4294967294ULL)
    die("plan: %s %s is not an id from 0 to 4294967294", what, s);
  return (uint32_t)v;
}

/* ---- secure path resolution inside the rootfs (CVE-2021-30465) ---- */

static int openat2_in_root(int dirfd, const char *path, int flags) {
  struct open_how how = {0};
  how.flags = (unsigned long long)(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

/* The fd that names `/` for in-container resolution: the rootfs before pivot_root, / after. */
static int current_root(void) {
  if (root_fd >= 0) return root_fd;
  int fd = open("/", O_PATH | O_CLOEXEC | O_DIRECTORY);
  if (fd < 0) die("open /: %s", strerror(errno));
  return fd;
}

/* At most this many dangling symlinks are followed while creating a destination (securejoin's). */
#define MAX_SYMLINK_HOPS 255

/* openat2_in_root, again while a concurrent rename makes the kernel answer EAGAIN for "..". */
static int open_in_root(int root, const char *path) {
  for (int i = 0; i < 64; i++) {
    int fd = openat2_in_root(root, *path ? path : ".", O_PATH);
    if (fd >= 0 || errno != EAGAIN) return fd;
  }
  return -1;
}

/*
 * Opens `path` (inside the container root) as O_PATH, creating missing directories along the way
 * and, when `create_file` is set, the last component as an empty file. The path resolves as a
 * whole from the container root, as runc's securejoin does: every prefix is opened from the root
 * with RESOLVE_IN_ROOT, so an absolute symlink restarts at the container's `/`, a relative one
 * goes on from the link's directory, and `..` stops at the root; nothing reaches the host. A
 * dangling symlink is followed to create what it points to (at most MAX_SYMLINK_HOPS of them).
 * Returns -1 with errno on failure.
 */
static int resolve_create(const char *path, int create_file, mode_t dirmode) {
  int root = current_root();
  char *cur = strdup(path);
  int result = -1, hops = 0;
  if (!cur) die("out of memory");
restart:;
  char *p = cur;
  while (*p == '/') p++;
  result = open_in_root(root, p);
  if (result >= 0 || errno != ENOENT) goto out;
  /* Some component is missing: find it, walking prefixes; `parent` is the last one that exists. */
  int parent = open_in_root(root, "");
  if (parent < 0) goto out;
  size_t len = strlen(p);
  for (size_t start = 0; start < len;) {
    size_t end = start;
    while (end < len && p[end] != '/') end++;
    if (end == start) {
      start++;
      continue;
    }
    char saved = p[end];
    p[end] = 0;
    int child = open_in_root(root, p);
    if (child < 0 && errno == ENOENT) {
      const char *comp = p + start;
      char target[PATH_MAX];
      ssize_t tl = readlinkat(parent, comp, target, sizeof target - 1);
      if (tl >= 0) {
        /* A dangling symlink: go on with its target in its place, resolved from the root. */
        target[tl] = 0;
        if (++hops > MAX_SYMLINK_HOPS) {
          close(parent);
          errno = ELOOP;
          goto out;
        }
        const char *rest = saved ? p + end + 1 : "";
        size_t cap = (size_t)start + (size_t)tl + strlen(rest) + 3;
        char *next = malloc(cap);
        if (!next) die("out of memory");
        if (target[0] == '/') snprintf(next, cap, "%s%s%s", target, *rest ? "/" : "", rest);
        else snprintf(next, cap, "%.*s%s%s%s", (int)start, p, target, *rest ? "/" : "", rest);
        if (strlen(next) >= PATH_MAX) {
          free(next);
          close(parent);
          errno = ENAMETOOLONG;
          goto out;
        }
        close(parent);
        free(cur);
        cur = next;
        goto restart;
      }
      int last = end == len || (saved == '/' && p[end + 1] == 0);
      if (last && create_file) {
        int f = openat(parent, comp, O_CREAT | O_WRONLY | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (f < 0 && errno != EEXIST) die("create %s: %s", path, strerror(errno));
        if (f >= 0) close(f);
      } else if (mkdirat(parent, comp, dirmode) < 0 && errno != EEXIST) {
        die("mkdir %s (in %s): %s", comp, path, strerror(errno));
      }
      child = open_in_root(root, p);
    }
    p[end] = saved;
    close(parent);
    if (child < 0) goto out;
    parent = child;
    start = end + 1;
  }
  result = parent;
out:;
  int saved_errno = errno;
  free(cur);
  if (root != root_fd) close(root);
  errno = saved_errno;
  return result;
}

/* True when `fd` is the container root itself (same mount and inode): nothing mounts over it. */
static int is_container_root(int fd) {
  int root = current_root();
  struct statx a, b;
  unsigned int mask = STATX_INO | STATX_MNT_ID;
  int same = statx(fd, "", AT_EMPTY_PATH, mask, &a) == 0 && statx(root, "", AT_EMPTY_PATH, mask, &b) == 0 &&
             a.stx_ino == b.stx_ino && a.stx_dev_major == b.stx_dev_major && a.stx_dev_minor == b.stx_dev_minor &&
             (!(a.stx_mask & b.stx_mask & STATX_MNT_ID) || a.stx_mnt_id == b.stx_mnt_id);
  if (root != root_fd) close(root);
  return same;
}

/* True when `fd` lies on a procfs mount (the container's /proc, once mounted). */
static int on_procfs(int fd) {
  struct statfs sf;
  return fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

/*
 * Opens the destination of a mount (resolve_create) and refuses the container root itself, which
 * a symlink such as `/link -> /` or `/a/up -> ..` would otherwise name: a mount there would hide
 * the whole rootfs. With `ordinary_fs`, the last component must not be a symlink nor anything but
 * a directory (runc's rule for procfs and sysfs, so that they land where the config says). With
 * `noproc`, a destination that resolves into the container's procfs is refused (runc's rule for
 * bind mounts: nothing may cover what /proc shows, e.g. /proc/sys, but a few lxcfs files that
 * TypeScript leaves without it).
 */
static int resolve_mount_dest(const char *path, int create_file, const char *ordinary_fs, int noproc) {
  while (*path == '/') path++;
  if (ordinary_fs || noproc) {
    char *dir = strdup(path), *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    if (slash) *slash = 0;
    int dfd = resolve_create(slash ? dir : "", 0, 0755);
    if (dfd < 0) die("resolve mount destination /%s: %s", path, strerror(errno));
    struct stat st;
    if (ordinary_fs && *base && fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
      die("mount destination /%s: filesystem \"%s\" must be mounted on an ordinary directory, not on %s", path,
          ordinary_fs, S_ISLNK(st.st_mode) ? "a symlink" : "a file");
    if (noproc && on_procfs(dfd)) die("mount destination /%s: cannot be mounted because it is inside /proc", path);
    close(dfd);
    free(dir);
  }
  int fd = resolve_create(path, create_file, 0755);
  if (fd < 0) die("resolve mount destination /%s: %s", path, strerror(errno));
  if (is_container_root(fd)) die("mount destination /%s: resolves to the container root; cannot mount over the root", path);
  if (noproc && on_procfs(fd)) die("mount destination /%s: cannot be mounted because it is inside /proc", path);
  return fd;
}

static void fdpath(int fd, char *buf, size_t len) { snprintf(buf, len, "/proc/self/fd/%d", fd); }

/* ---- ops ---- */

static void op_setns(record_t *r) {
  int fd = open(r->argv[0], O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open namespace %s: %s", r->argv[0], strerror(errno));
  if (setns(fd, (int)num(r->argv[1])) < 0) die("setns %s: %s", r->argv[0], strerror(errno));
  close(fd);
}

static char *uid_map = NULL, *gid_map = NULL, *setgroups_val = NULL;

static void write_proc_file(pid_t pid, const char *name, const char *content) {
  char p[64];
  snprintf(p, sizeof p, "/proc/%d/%s", pid, name);
  int fd = open(p, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", p, strerror(errno));
  if (write(fd, content, strlen(content)) < 0) die("write %s: %s", p, strerror(errno));
  close(fd);
}

/* `newuidmap`/`newgidmap` records: set when the plan maps more than an unprivileged caller may. */
static record_t *uid_helper = NULL, *gid_helper = NULL;

/* Runs the setuid id-map helper (argv: PATH ARGS...) for `pid` with an empty environment. */
static void run_idmap_helper(const record_t *h, pid_t pid) {
  char pidstr[32];
  snprintf(pidstr, sizeof pidstr, "%d", pid);
  char **args = calloc((size_t)h->argc + 2, sizeof(char *));
  if (!args) die("out of memory");
  args[0] = h->argv[0];
  args[1] = pidstr;
  for (int i = 1; i < h->argc; i++) args[i + 1] = h->argv[i];
  pid_t p = fork();
  if (p < 0) die("fork %s: %s", h->argv[0], strerror(errno));
  if (p == 0) {
    char *envp[] = {NULL};
    execve(h->argv[0], args, envp);
    _exit(127);
  }
  int status;
  while (waitpid(p, &status, 0) < 0)
    if (errno != EINTR) die("wait %s: %s", h->argv[0], strerror(errno));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    die("%s %s failed (status %d): are the ranges in /etc/subuid and /etc/subgid?", h->argv[0], pidstr,
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  free(args);
}

static void forward_signal(int sig) {
  if (child_pid > 0) kill(child_pid, sig);
}

/* Receives the pty master from the child and copies stdin -> pty -> stdout until it hangs up. */
static void proxy_console(void) {
  char byte[64];
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = byte, .iov_len = sizeof byte};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  if (recvmsg(proxy_sock, &msg, 0) <= 0) return;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  if (!cm || cm->cmsg_type != SCM_RIGHTS) return;
  int master;
  memcpy(&master, CMSG_DATA(cm), sizeof(int));
  close(proxy_sock);
  proxy_console_fd(master);
}

/*
 * Writes PID to PATH atomically (temp file + rename). A caller that is this process's parent (an
 * engine's monitor) reads it when this process exits, which in detach mode is right after "pid N".
 */
static void write_pidfile(const char *path, pid_t pid) {
  char tmp[PATH_MAX], text[32];
  if (snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof tmp) die("pid file path too long");
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("pid file %s: %s", tmp, strerror(errno));
  int n = snprintf(text, sizeof text, "%d", (int)pid);
  if (write(fd, text, (size_t)n) != n || close(fd) < 0 || rename(tmp, path) < 0)
    die("pid file %s: %s", path, strerror(errno));
}

/* Splits into parent and child; returns only in the child. */
/* The container's cgroup v2 directory (`cgroupfd`): the child is born in it. */
static int clone_cgroup_fd = -1;
static char *clone_cgroup_dir = NULL;

/*
 * cgroupfd DIR: the child of `clone` starts in cgroup v2 directory DIR (clone3's
 * CLONE_INTO_CGROUP), which takes the kernel's cgroup lock only for reading. Moving a process
 * with a write to cgroup.procs takes it for writing, an RCU grace period: milliseconds on every
 * container start.
 */
static void op_cgroupfd(record_t *r) {
  clone_cgroup_fd = open(r->argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (clone_cgroup_fd < 0) die("open cgroup %s: %s", r->argv[0], strerror(errno));
  clone_cgroup_dir = r->argv[0];
}

/* The `tasks` files of the container's cgroup v1 directories (`tasksfd`), for `joincgroups`. */
#define MAX_TASKS_FDS 32
static int tasks_fds[MAX_TASKS_FDS];
static int tasks_fd_count = 0;

/*
 * tasksfd FILE: opens a cgroup v1 `tasks` file before the namespaces change (an exec joins the
 * container's mount namespace, where host paths mean nothing), for `joincgroups`.
 */
static void op_tasksfd(record_t *r) {
  if (tasks_fd_count == MAX_TASKS_FDS) die("plan: too many cgroup hierarchies");
  int fd = open(r->argv[0], O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", r->argv[0], strerror(errno));
  tasks_fds[tasks_fd_count++] = fd;
}

/*
 * joincgroups: moves this (single-threaded) process into each `tasksfd` hierarchy by writing 0:
 * a thread moving itself needs no global lock either.
 */
static void op_joincgroups(record_t *r) {
  for (int i = 0; i < tasks_fd_count; i++) {
    if (write(tasks_fds[i], "0", 1) != 1) die("join cgroup: %s", strerror(errno));
    close(tasks_fds[i]);
  }
  tasks_fd_count = 0;
}

/* The layout of clone3's argument up to `cgroup` (CLONE_ARGS_SIZE_VER2). */
struct clone3_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
      set_tid_size, cgroup;
};
#define PIER_CLONE_INTO_CGROUP 0x200000000ULL

/* clone (fork-like, no new stack), into the `cgroupfd` directory when one was given. */
static pid_t clone_child(unsigned long flags) {
  if (clone_cgroup_fd >= 0) {
    struct clone3_args args = {.flags = flags | PIER_CLONE_INTO_CGROUP,
                               .exit_signal = SIGCHLD,
                               .cgroup = (uint64_t)clone_cgroup_fd};
    pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0) return pid;
    if (errno != ENOSYS && errno != E2BIG && errno != EINVAL) return pid;
    /* An older kernel: the parent moves the child through cgroup.procs after all. */
    pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, NULL, NULL, 0);
    if (pid > 0) {
      char path[PATH_MAX], num_s[24];
      snprintf(path, sizeof path, "%s/cgroup.procs", clone_cgroup_dir);
      int fd = open(path, O_WRONLY | O_CLOEXEC);
      int n = snprintf(num_s, sizeof num_s, "%d", (int)pid);
      if (fd < 0 || write(fd, num_s, (size_t)n) != n) {
        kill(pid, SIGKILL);
        die("join cgroup %s: %s", clone_cgroup_dir, strerror(errno));
      }
      close(fd);
    }
    return pid;
  }
  return (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, NULL, NULL, 0);
}

static void op_clone(record_t *r) {
  unsigned long flags = (unsigned long)num(r->argv[0]);
  int release[2];
  if (pipe2(release, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  pid_t pid = clone_child(flags);
  if (pid < 0) die("clone: %s", strerror(errno));
  if (pid == 0) {
    close(release[1]);
    if (ctl_fd >= 0) {
      close(ctl_fd);
      ctl_fd = -1;
    }
    if (proxy_sock >= 0) {
      close(proxy_sock);
      proxy_sock = -1;
    }
    char c;
    while (read(release[0], &c, 1) < 0 && errno == EINTR) {
    }
    close(release[0]);
    if (uid_map) {
      /* Now root of the new user namespace. */
      /* Only the uid for now (as runc's nsexec): the gid follows with the `root` op, after the
       * remaining namespaces are unshared, so that what they own reads as runc's do. */
      if (setresuid(0, 0, 0) < 0) die("become root in user namespace: %s", strerror(errno));
    }
    return;
  }
  close(release[0]);
  child_pid = pid;
  if (console_sock >= 0) {
    /* The child's end of the console pair. */
    close(console_sock);
    console_sock = -1;
  }
  if (uid_helper) run_idmap_helper(uid_helper, pid);
  else if (uid_map) write_proc_file(pid, "uid_map", uid_map);
  if (setgroups_val) write_proc_file(pid, "setgroups", setgroups_val);
  if (gid_helper) run_idmap_helper(gid_helper, pid);
  else if (gid_map) write_proc_file(pid, "gid_map", gid_map);
  if (parent_pidfile) write_pidfile(parent_pidfile, pid);
  send_line("pid %d", pid);
  write_all(release[1], "1", 1);
  close(release[1]);
  close(sync_fd);
  sync_fd = -1;
  if (!wait_mode) {
    if (ctl_fd >= 0) ctl_relay(ctl_fd, 0); /* the service finishes create and names the status */
    _exit(0);
  }
  int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], forward_signal);
  if (proxy_sock >= 0) proxy_console();
  int status;
  for (;;) {
    pid_t w = waitpid(pid, &status, 0);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) _exit(255);
    break;
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
  if (ctl_fd >= 0) {
    /* The service deletes the container (poststop hooks) before this process exits. */
    char msg[32];
    int n = snprintf(msg, sizeof msg, "exited %d\n", code);
    write_all(ctl_fd, msg, (size_t)n);
    ctl_relay(ctl_fd, code);
  }
  _exit(code);
}

/* syncsend NAME: asks the runtime for a sync point without waiting (see op_syncwait). */
static void op_syncsend(record_t *r) {
  send_line("sync %s", r->argv[0]);
}

/*
 * syncwait: waits for the runtime's answer to the last syncsend. Between the two the container
 * process goes on with work that does not depend on the answer: placing it in its cgroups costs
 * the kernel an RCU grace period, which its mounts overlap.
 */
static void op_syncwait(record_t *r) {
  char *reply = read_line(sync_fd);
  if (strncmp(reply, "ok", 2) != 0) _exit(1);
  if (reply[2] == ' ') {
    free(state_json);
    state_json = strdup(reply + 3);
    state_len = strlen(state_json);
  }
  free(reply);
}

/* sync NAME: a sync point answered before the plan goes on. */
static void op_sync(record_t *r) {
  op_syncsend(r);
  op_syncwait(r);
}

/*
 * hookstate STATUS: the state container-namespace hooks get. The runtime ends its state JSON with
 * `,"status":...,"pid":N}` so that the tail can be replaced here by this status and the pid as
 * the container sees it (runtime.md "State"), without a JSON parser.
 */
static void op_hookstate(record_t *r) {
  if (!state_json) return;
  char *tail = NULL;
  for (char *p = strstr(state_json, ",\"status\":"); p; p = strstr(p + 1, ",\"status\":")) tail = p;
  if (!tail) die("plan: hook state without a status");
  *tail = '\0';
  size_t len = strlen(state_json) + strlen(r->argv[0]) + 64;
  char *next = malloc(len);
  if (!next) die("out of memory");
  snprintf(next, len, "%s,\"status\":\"%s\",\"pid\":%d}", state_json, r->argv[0], (int)getpid());
  free(state_json);
  state_json = next;
  state_len = strlen(state_json);
}

static void op_mount(record_t *r) {
  /* mount SRC DEST FSTYPE FLAGS DATA [KIND [noproc]]: DEST inside the rootfs; KIND "file" creates
   * a file, "ordinary" wants a directory that is not a symlink; "noproc" refuses a DEST in procfs
   * (see resolve_mount_dest). */
  const char *src = r->argv[0];
  unsigned long flags = (unsigned long)num(r->argv[3]);
  int is_file = r->argc > 5 && strcmp(r->argv[5], "file") == 0;
  int ordinary = r->argc > 5 && strcmp(r->argv[5], "ordinary") == 0;
  int noproc = r->argc > 6 && strcmp(r->argv[6], "noproc") == 0;
  int fd = resolve_mount_dest(r->argv[1], is_file, ordinary ? r->argv[2] : NULL, noproc);
  char target[64];
  fdpath(fd, target, sizeof target);
  const char *data = r->argv[4][0] ? r->argv[4] : NULL;
  if (flags & MS_BIND) {
    if (mount(src, target, NULL, MS_BIND | (flags & MS_REC), NULL) < 0)
      die("bind mount %s on %s: %s", src, r->argv[1], strerror(errno));
    unsigned long rest = flags & ~(MS_BIND | MS_REC | MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE);
    if (rest) {
      close(fd);
      fd = resolve_create(r->argv[1], 0, 0755);
      fdpath(fd, target, sizeof target);
      if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | rest, NULL) < 0) {
        /* Locked flags (in a user namespace) must be kept: add what the mount already has. */
        struct statfs sf;
        if (fstatfs(fd, &sf) < 0 || mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | rest | (unsigned long)sf.f_flags, NULL) < 0)
          die("remount %s: %s", r->argv[1], strerror(errno));
      }
    }
  } else {
    unsigned long base = flags & ~(MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE);
    if (mount(src, target, r->argv[2], base, data) < 0)
      die("mount %s (%s) on %s: %s", src, r->argv[2], r->argv[1], strerror(errno));
  }
  close(fd);
}

static void op_propagate(record_t *r) {
  int fd = resolve_create(r->argv[0], 0, 0755);
  if (fd < 0) die("resolve %s: %s", r->argv[0], strerror(errno));
  char target[64];
  fdpath(fd, target, sizeof target);
  if (mount(NULL, target, NULL, (unsigned long)num(r->argv[1]), NULL) < 0)
    die("set propagation of %s: %s", r->argv[0], strerror(errno));
  close(fd);
}

static void op_rootprop(record_t *r) {
  if (mount(NULL, "/", NULL, (unsigned long)num(r->argv[0]), NULL) < 0)
    die("set propagation of /: %s", strerror(errno));
}

/*
 * Finds, in this mount namespace's /proc/self/mountinfo, the mount point that holds `path` (an
 * absolute path without symlinks): the longest mount point that is `path` or one of its parents.
 * Writes it to `mp` and returns its propagation: MOUNT_SHARED and/or MOUNT_UNBINDABLE bits, 0
 * for private or slave, -1 when not found.
 */
#define MOUNT_SHARED 1
#define MOUNT_UNBINDABLE 2
static int holding_mount(const char *path, char *mp, size_t mplen) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) die("open /proc/self/mountinfo: %s", strerror(errno));
  char line[8192];
  size_t best = 0;
  int shared = -1;
  while (fgets(line, sizeof line, f)) {
    /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER */
    char *save = NULL, *field = strtok_r(line, " ", &save);
    for (int i = 0; field && i < 4; i++) field = strtok_r(NULL, " ", &save);
    if (!field) continue;
    char point[PATH_MAX];
    size_t n = 0;
    for (const char *c = field; *c && n + 1 < sizeof point; c++) {
      /* mountinfo escapes space, tab, newline and backslash as \ooo */
      if (c[0] == '\\' && c[1] >= '0' && c[1] <= '3' && c[2] >= '0' && c[2] <= '7' && c[3] >= '0' && c[3] <= '7') {
        point[n++] = (char)((c[1] - '0') * 64 + (c[2] - '0') * 8 + (c[3] - '0'));
        c += 3;
      } else point[n++] = *c;
    }
    point[n] = 0;
    int holds = !strcmp(point, "/") || (!strncmp(path, point, n) && (path[n] == '/' || path[n] == 0));
    if (!holds || n < best) continue;
    best = n;
    snprintf(mp, mplen, "%s", point);
    shared = 0;
    strtok_r(NULL, " ", &save); /* options */
    for (char *opt = strtok_r(NULL, " ", &save); opt && strcmp(opt, "-"); opt = strtok_r(NULL, " ", &save)) {
      if (!strncmp(opt, "shared:", 7)) shared |= MOUNT_SHARED;
      if (!strncmp(opt, "unbindable", 10)) shared |= MOUNT_UNBINDABLE;
    }
  }
  fclose(f);
  return shared;
}

static void op_rootfs(record_t *r) {
  char real[PATH_MAX];
  if (!realpath(r->argv[0], real)) die("rootfs %s: %s", r->argv[0], strerror(errno));
  root_path = strdup(real);
  /* As runc's rootfsParentMountPrivate: the mount holding the rootfs is the bind's source and
   * its parent; shared, it makes the bind shared and pivot_root refuses both (EINVAL), and an
   * unbindable one (rootfsPropagation unbindable) cannot be bound at all. Private here, in the
   * container's mount namespace, nothing propagates back to the host either. */
  char mp[PATH_MAX];
  if (holding_mount(root_path, mp, sizeof mp) > 0 && mount(NULL, mp, NULL, MS_PRIVATE, NULL) < 0)
    die("make %s private: %s", mp, strerror(errno));
  if (mount(root_path, root_path, NULL, MS_BIND | MS_REC, NULL) < 0)
    die("bind rootfs %s: %s", root_path, strerror(errno));
  root_fd = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) die("open rootfs %s: %s", root_path, strerror(errno));
}

static void op_mkdev(record_t *r) {
  /* mkdev PATH TYPE(c|b|p|u) MAJOR MINOR MODE UID GID BIND(0|1) */
  const char *path = r->argv[0];
  char type = r->argv[1][0];
  mode_t mode = (mode_t)num(r->argv[4]);
  int bind = num(r->argv[7]) != 0;
  char *dir = strdup(path), *slash = strrchr(dir, '/');
  const char *base = slash ? slash + 1 : dir;
  if (slash) *slash = 0;
  int dfd = resolve_create(slash ? dir : "", 0, 0755);
  if (dfd < 0) die("resolve %s: %s", path, strerror(errno));
  if (bind) {
    int f = openat(dfd, base, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (f < 0 && errno != EEXIST) die("create %s: %s", path, strerror(errno));
    if (f >= 0) close(f);
    int tfd = openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    char target[64];
    fdpath(tfd, target, sizeof target);
    char host[PATH_MAX];
    snprintf(host, sizeof host, "/%s", path[0] == '/' ? path + 1 : path);
    if (mount(host, target, NULL, MS_BIND, NULL) < 0) die("bind device %s: %s", host, strerror(errno));
    close(tfd);
  } else {
    mode_t fmt = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
    unlinkat(dfd, base, 0);
    if (mknodat(dfd, base, fmt | (mode & 07777), makedev(num(r->argv[2]), num(r->argv[3]))) < 0)
      die("mknod %s: %s", path, strerror(errno));
    if (fchownat(dfd, base, id_arg(r->argv[5], "device uid"), id_arg(r->argv[6], "device gid"), AT_SYMLINK_NOFOLLOW) < 0)
      die("chown %s: %s", path, strerror(errno));
    int f = openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    char p[64];
    fdpath(f, p, sizeof p);
    if (chmod(p, mode & 07777) < 0) die("chmod %s: %s", path, strerror(errno));
    close(f);
  }
  close(dfd);
  free(dir);
}

static void op_symlink(record_t *r) {
  /* symlink TARGET LINKPATH */
  char *dir = strdup(r->argv[1]), *slash = strrchr(dir, '/');
  const char *base = slash ? slash + 1 : dir;
  if (slash) *slash = 0;
  int dfd = resolve_create(slash ? dir : "", 0, 0755);
  if (dfd < 0) die("resolve %s: %s", r->argv[1], strerror(errno));
  if (symlinkat(r->argv[0], dfd, base) < 0 && errno != EEXIST) die("symlink %s: %s", r->argv[1], strerror(errno));
  close(dfd);
  free(dir);
}

static void op_hook(record_t *r) {
  /* hook PATH TIMEOUT_SECONDS NARGS ARGS... ENV... ; stdin gets the state JSON */
  int nargs = atoi(r->argv[2]);
  if (nargs < 0 || 3 + nargs > r->argc) die("plan: bad hook");
  char **args = calloc((size_t)nargs + 2, sizeof(char *));
  if (nargs == 0) args[0] = r->argv[0];
  for (int i = 0; i < nargs; i++) args[i] = r->argv[3 + i];
  int nenv = r->argc - 3 - nargs;
  char **env = calloc((size_t)nenv + 1, sizeof(char *));
  for (int i = 0; i < nenv; i++) env[i] = r->argv[3 + nargs + i];
  int in[2];
  if (pipe2(in, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0) die("fork hook: %s", strerror(errno));
  if (pid == 0) {
    dup2(in[0], 0);
    execve(r->argv[0], args, env);
    _exit(127);
  }
  close(in[0]);
  if (state_json) {
    /* A hook that does not read its stdin must not kill the helper; the disposition the helper
     * had (the default, once `cloexec` ran) is restored for the user program. */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigaction(SIGPIPE, &ign, &old);
    if (write(in[1], state_json, state_len) < 0) {
    }
    sigaction(SIGPIPE, &old, NULL);
  }
  close(in[1]);
  long timeout_ms = atol(r->argv[1]) * 1000;
  long waited = 0;
  int status = 0;
  for (;;) {
    pid_t w = waitpid(pid, &status, timeout_ms > 0 ? WNOHANG : 0);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) die("wait hook: %s", strerror(errno));
    if (timeout_ms > 0 && waited >= timeout_ms) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      die("hook %s timed out after %s s", r->argv[0], r->argv[1]);
    }
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
    waited += 5;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) die("hook %s could not be executed", r->argv[0]);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    die("hook %s failed with status %d", r->argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  free(args);
  free(env);
}

/*
 * Stdio that is the host's /dev/null (conmon's stdin for a detached container) is reopened as the
 * container's own /dev/null once the root is switched, as runc's reOpenDevNull does: CRIU cannot
 * dump an fd on a mount outside the container, and the process should not hold the host's.
 */
static void reopen_dev_null(void) {
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd < 0) return; /* no /dev/null in the container: nothing to reopen with */
  struct stat null_st;
  if (fstat(fd, &null_st) < 0 || !S_ISCHR(null_st.st_mode) || null_st.st_rdev != makedev(1, 3)) {
    close(fd);
    return;
  }
  for (int i = 0; i <= 2; i++) {
    struct stat st;
    if (fstat(i, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != null_st.st_rdev) continue;
    if (st.st_dev == null_st.st_dev && st.st_ino == null_st.st_ino) continue; /* already the container's */
    int flags = fcntl(i, F_GETFL);
    int nfd = open("/dev/null", (flags < 0 ? O_RDWR : flags & O_ACCMODE) | O_CLOEXEC);
    if (nfd < 0) die("reopen /dev/null as fd %d: %s", i, strerror(errno));
    if (dup3(nfd, i, 0) < 0) die("reopen /dev/null as fd %d: %s", i, strerror(errno));
    close(nfd);
  }
  close(fd);
}

static void op_pivot(record_t *r) {
  /* pivot_root also refuses a shared old root (a `shared` rootfsPropagation made it so, which
   * runc then fails on): it is detached right below, so it is made private first. */
  char mp[PATH_MAX];
  if (holding_mount("/", mp, sizeof mp) > 0 && mount(NULL, "/", NULL, MS_PRIVATE, NULL) < 0)
    die("make / private: %s", strerror(errno));
  if (fchdir(root_fd) < 0) die("chdir rootfs: %s", strerror(errno));
  if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root: %s", strerror(errno));
  /* The old root now sits on top of the new one; make it private so nothing propagates, detach. */
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) die("make old root slave: %s", strerror(errno));
  if (umount2(".", MNT_DETACH) < 0) die("unmount old root: %s", strerror(errno));
  if (chdir("/") < 0) die("chdir /: %s", strerror(errno));
  close(root_fd);
  root_fd = -1;
  reopen_dev_null();
}

static void op_chroot(record_t *r) {
  if (fchdir(root_fd) < 0) die("chdir rootfs: %s", strerror(errno));
  if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) die("move rootfs: %s", strerror(errno));
  if (chroot(".") < 0) die("chroot: %s", strerror(errno));
  if (chdir("/") < 0) die("chdir /: %s", strerror(errno));
  close(root_fd);
  root_fd = -1;
  reopen_dev_null();
}

static void require_procfs(const char *what) {
  struct statfs sf;
  if (statfs("/proc", &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC) die("/proc is not procfs (needed for %s)", what);
}

static void op_mask(record_t *r) {
  int fd = openat2_in_root(AT_FDCWD, r->argv[0], O_PATH | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return;
    die("open masked path %s: %s", r->argv[0], strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) < 0) die("stat %s: %s", r->argv[0], strerror(errno));
  char target[64];
  fdpath(fd, target, sizeof target);
  if (S_ISDIR(st.st_mode)) {
    if (mount("tmpfs", target, "tmpfs", MS_RDONLY, NULL) < 0) die("mask %s: %s", r->argv[0], strerror(errno));
  } else {
    int nfd = open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    struct stat ns;
    if (nfd < 0 || fstat(nfd, &ns) < 0 || !S_ISCHR(ns.st_mode) || major(ns.st_rdev) != 1 || minor(ns.st_rdev) != 3)
      die("/dev/null is not the char device 1:3; refusing to mask %s with it", r->argv[0]);
    char src[64];
    fdpath(nfd, src, sizeof src);
    if (mount(src, target, NULL, MS_BIND, NULL) < 0) die("mask %s: %s", r->argv[0], strerror(errno));
    close(nfd);
  }
  close(fd);
}

static void op_ropath(record_t *r) {
  int fd = openat2_in_root(AT_FDCWD, r->argv[0], O_PATH | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return;
    die("open read-only path %s: %s", r->argv[0], strerror(errno));
  }
  char target[64];
  fdpath(fd, target, sizeof target);
  if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind %s: %s", r->argv[0], strerror(errno));
  close(fd);
  fd = openat2_in_root(AT_FDCWD, r->argv[0], O_PATH | O_NOFOLLOW);
  fdpath(fd, target, sizeof target);
  struct statfs sf;
  fstatfs(fd, &sf);
  unsigned long keep = (unsigned long)sf.f_flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
    die("make %s read-only: %s", r->argv[0], strerror(errno));
  close(fd);
}

static void op_readonlyroot(record_t *r) {
  struct statfs sf;
  if (statfs("/", &sf) < 0) die("statfs /: %s", strerror(errno));
  unsigned long keep = (unsigned long)sf.f_flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
    die("make rootfs read-only: %s", strerror(errno));
}

static void op_sysctl(record_t *r) {
  /* sysctl PATH VALUE: PATH below /proc/sys (TypeScript decided the key may be set). Opened
   * beneath /proc/sys with no symlink, no mount crossing: nothing else under /proc is reached. */
  require_procfs("sysctl");
  int dir = open("/proc/sys", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0) die("open /proc/sys: %s", strerror(errno));
  struct open_how how = {0};
  how.flags = O_WRONLY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  int fd = (int)syscall(SYS_openat2, dir, r->argv[0], &how, sizeof how);
  close(dir);
  if (fd < 0) die("open sysctl %s: %s", r->argv[0], strerror(errno));
  if (write(fd, r->argv[1], strlen(r->argv[1])) < 0) die("write sysctl %s: %s", r->argv[0], strerror(errno));
  close(fd);
}

static void op_oom(record_t *r) {
  require_procfs("oomScoreAdj");
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, r->argv[0], strlen(r->argv[0])) < 0) die("write oom_score_adj: %s", strerror(errno));
  close(fd);
}

static void op_consock(record_t *r) {
  console_sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(r->argv[0]) >= sizeof sa.sun_path) die("console socket path too long");
  strcpy(sa.sun_path, r->argv[0]);
  if (connect(console_sock, (struct sockaddr *)&sa, sizeof sa) < 0)
    die("connect console socket %s: %s", r->argv[0], strerror(errno));
}

/* Opens a new pty in the container's devpts, sends the master, makes the slave our stdio. */
static void op_console(record_t *r) {
  int bind_console = r->argc > 0 && !strcmp(r->argv[0], "devconsole");
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die("open /dev/ptmx: %s", strerror(errno));
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) die("unlockpt: %s", strerror(errno));
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) die("open pty peer: %s", strerror(errno));
  if (con_rows || con_cols) {
    struct winsize ws = {.ws_row = con_rows, .ws_col = con_cols};
    ioctl(slave, TIOCSWINSZ, &ws);
  }
  int ptyno = 0;
  ioctl(master, TIOCGPTN, &ptyno);
  if (console_sock >= 0) {
    char name[64];
    snprintf(name, sizeof name, "/dev/pts/%d", ptyno);
    struct iovec iov = {.iov_base = name, .iov_len = strlen(name)};
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &master, sizeof(int));
    if (sendmsg(console_sock, &msg, 0) < 0) die("send console fd: %s", strerror(errno));
    close(console_sock);
    console_sock = -1;
  }
  close(master);
  /* For the container's init, /dev/console is the pty, as runc makes it (best effort: /dev may
   * be read-only); an exec'd process must not touch it. */
  int cfd = bind_console ? resolve_create("/dev/console", 1, 0755) : -1;
  if (cfd >= 0) {
    char src[64], dst[64];
    fdpath(slave, src, sizeof src);
    fdpath(cfd, dst, sizeof dst);
    mount(src, dst, NULL, MS_BIND, NULL);
    close(cfd);
  }
  if (ioctl(slave, TIOCSCTTY, 0) < 0) die("set controlling tty: %s", strerror(errno));
  for (int i = 0; i < 3; i++)
    if (dup3(slave, i, 0) < 0) die("dup pty: %s", strerror(errno));
  close(slave);
}

static void op_bounding(record_t *r) {
  /* bounding LASTCAP MASK: drop every capability not in MASK from the bounding set */
  int last = atoi(r->argv[0]);
  unsigned long long bnd = num(r->argv[1]);
  for (int c = 0; c <= last; c++)
    if (!(bnd & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      die("drop bounding capability %d: %s", c, strerror(errno));
}

static void op_caps(record_t *r) {
  /* caps LASTCAP EFFECTIVE PERMITTED INHERITABLE AMBIENT (hex masks) */
  int last = atoi(r->argv[0]);
  unsigned long long eff = num(r->argv[1]), perm = num(r->argv[2]), inh = num(r->argv[3]), amb = num(r->argv[4]);
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  for (int i = 0; i < 2; i++) {
    data[i].effective = (uint32_t)(eff >> (32 * i));
    data[i].permitted = (uint32_t)(perm >> (32 * i));
    data[i].inheritable = (uint32_t)(inh >> (32 * i));
  }
  if (syscall(SYS_capset, &hdr, data) < 0) die("capset: %s", strerror(errno));
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int c = 0; c <= last; c++)
    /* As runc: a capability missing from the inheritable set just cannot become ambient. */
    if (amb & (1ULL << c)) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
}

#ifndef MOUNT_ATTR_SIZE_VER0
struct mount_attr {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

static void op_setattr(record_t *r) {
  /* setattr DEST SET CLEAR: recursive mount attributes (the r* options) with mount_setattr */
  int fd = resolve_create(r->argv[0], 0, 0755);
  if (fd < 0) die("resolve %s: %s", r->argv[0], strerror(errno));
  struct mount_attr attr = {0};
  attr.attr_set = num(r->argv[1]);
  attr.attr_clr = num(r->argv[2]);
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
    die("mount_setattr %s: %s", r->argv[0], strerror(errno));
  close(fd);
}

/* ---- idmapped mounts ---- */

#define MAX_IDMAP_TREES 64
static int idmap_trees[MAX_IDMAP_TREES]; /* detached mount fds by mount index (0 = none) */
static int idmap_index[MAX_IDMAP_TREES];
static int idmap_count = 0;

/* A user namespace fd carrying the given maps: a child waits in it while the maps are written. */
static int userns_with_maps(const char *uidmap, const char *gidmap) {
  int hold[2];
  if (pipe2(hold, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL, 0);
  if (pid < 0) die("clone user namespace for an idmapped mount: %s", strerror(errno));
  if (pid == 0) {
    char c;
    close(hold[1]);
    while (read(hold[0], &c, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(hold[0]);
  write_proc_file(pid, "uid_map", uidmap);
  write_proc_file(pid, "setgroups", "deny");
  write_proc_file(pid, "gid_map", gidmap);
  char p[64];
  snprintf(p, sizeof p, "/proc/%d/ns/user", pid);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  int err = errno;
  close(hold[1]);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
  if (fd < 0) die("open %s: %s", p, strerror(err));
  return fd;
}

static void op_idmaptree(record_t *r) {
  /* idmaptree INDEX SRC UIDMAP GIDMAP IDMAP_RECURSIVE CLONE_RECURSIVE: runs before `clone`, with
   * the host's privileges over SRC's filesystem; the fd is inherited by the container process. */
  if (idmap_count >= MAX_IDMAP_TREES) die("too many idmapped mounts");
  int rec = num(r->argv[5]) != 0;
  int tree = (int)syscall(SYS_open_tree, AT_FDCWD, r->argv[1], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0));
  if (tree < 0) die("open_tree %s: %s", r->argv[1], strerror(errno));
  int userns = userns_with_maps(r->argv[2], r->argv[3]);
  struct mount_attr attr = {0};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = (uint64_t)userns;
  unsigned int at = AT_EMPTY_PATH | (num(r->argv[4]) != 0 ? AT_RECURSIVE : 0);
  if (syscall(SYS_mount_setattr, tree, "", at, &attr, sizeof attr) < 0)
    die("idmap mount of %s (mount_setattr MOUNT_ATTR_IDMAP): %s", r->argv[1], strerror(errno));
  close(userns);
  idmap_index[idmap_count] = atoi(r->argv[0]);
  idmap_trees[idmap_count++] = tree;
}

static void op_idmapmount(record_t *r) {
  /* idmapmount INDEX DEST KIND FLAGS [noproc]: attaches the tree of `idmaptree INDEX` at DEST (in
   * the rootfs); "noproc" as for `mount` */
  int index = atoi(r->argv[0]), tree = -1;
  for (int i = 0; i < idmap_count; i++)
    if (idmap_index[i] == index) tree = idmap_trees[i];
  if (tree < 0) die("plan: idmapmount %d without idmaptree", index);
  int noproc = r->argc > 4 && strcmp(r->argv[4], "noproc") == 0;
  int fd = resolve_mount_dest(r->argv[1], strcmp(r->argv[2], "file") == 0, NULL, noproc);
  if (syscall(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    die("attach idmapped mount on %s: %s", r->argv[1], strerror(errno));
  close(fd);
  close(tree);
  unsigned long rest = (unsigned long)num(r->argv[3]) & ~(MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE);
  if (rest) {
    fd = resolve_create(r->argv[1], 0, 0755);
    char target[64];
    fdpath(fd, target, sizeof target);
    if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | rest, NULL) < 0) die("remount %s: %s", r->argv[1], strerror(errno));
    close(fd);
  }
}

/* ---- cgroup v2 device filter ---- */

static void op_devfilter(record_t *r) {
  /* devfilter CGROUPDIR LICENSE HEXBYTES: loads the eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE,
   * compiled in TypeScript) and attaches it to the v2 cgroup directory, replacing the program
   * attached there before (single-program mode, as an update needs). */
  size_t n = strlen(r->argv[2]) / 2;
  if (n == 0 || n % sizeof(struct bpf_insn)) die("device filter: bad program length %zu", n);
  unsigned char *insns = malloc(n);
  if (!insns) die("out of memory");
  for (size_t i = 0; i < n; i++) {
    unsigned int b;
    if (sscanf(r->argv[2] + 2 * i, "%2x", &b) != 1) die("device filter: bad hex");
    insns[i] = (unsigned char)b;
  }
  static char log[65536];
  union bpf_attr load;
  memset(&load, 0, sizeof load);
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = (uint64_t)(uintptr_t)insns;
  load.insn_cnt = (uint32_t)(n / sizeof(struct bpf_insn));
  load.license = (uint64_t)(uintptr_t)r->argv[1];
  load.log_buf = (uint64_t)(uintptr_t)log;
  load.log_size = sizeof log;
  load.log_level = 1;
  int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
  if (prog < 0) {
    /* The verifier's log names the failing instruction; a short log is more useful than none. */
    for (char *c = log; *c; c++)
      if (*c == '\n') *c = ' ';
    die("load device filter (BPF_PROG_LOAD): %s: %.600s", strerror(errno), log);
  }
  int cg = open(r->argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) die("open cgroup %s: %s", r->argv[0], strerror(errno));
  union bpf_attr attach;
  memset(&attach, 0, sizeof attach);
  attach.target_fd = (uint32_t)cg;
  attach.attach_bpf_fd = (uint32_t)prog;
  attach.attach_type = BPF_CGROUP_DEVICE;
  if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof attach) < 0)
    die("attach device filter to %s (BPF_PROG_ATTACH): %s", r->argv[0], strerror(errno));
  close(cg);
  close(prog);
  free(insns);
}

static void op_timens(record_t *r) {
  /* timens OFFSETS: a new time namespace for the children, with the given clock offsets */
  if (unshare(CLONE_NEWTIME) < 0) die("unshare time namespace: %s", strerror(errno));
  if (r->argv[0][0]) {
    /* After a uid change the process is not dumpable and its /proc files belong to the host's
     * root; dumpable for the one write, then as it was. */
    int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, r->argv[0], strlen(r->argv[0])) < 0) die("write timens_offsets: %s", strerror(errno));
    close(fd);
    if (dumpable >= 0) prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
  }
}

static void op_user(record_t *r) {
  /* user UID GID [GROUPS...] ; "-" as the first group means do not call setgroups */
  uid_t uid = id_arg(r->argv[0], "uid");
  gid_t gid = id_arg(r->argv[1], "gid");
  if (!(r->argc > 2 && strcmp(r->argv[2], "-") == 0)) {
    int n = r->argc - 2;
    gid_t *groups = calloc((size_t)n + 1, sizeof(gid_t));
    for (int i = 0; i < n; i++) groups[i] = id_arg(r->argv[2 + i], "additional gid");
    if (setgroups((size_t)n, groups) < 0) die("setgroups: %s", strerror(errno));
    free(groups);
  }
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) die("keepcaps: %s", strerror(errno));
  if (setresgid(gid, gid, gid) < 0) die("setgid %u: %s", gid, strerror(errno));
  if (setresuid(uid, uid, uid) < 0) die("setuid %u: %s", uid, strerror(errno));
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
}

/*
 * seccompmsg PATH: keeps the container process state the runtime sent with the last sync (the
 * listener message of config-linux.md) and connects to the agent's socket now, while the host's
 * mount namespace still resolves PATH; the filter is loaded much later, after pivot_root.
 */
static void op_seccompmsg(record_t *r) {
  if (!state_json) die("plan: seccompmsg without a state");
  free(seccomp_msg);
  seccomp_msg = state_json;
  state_json = NULL;
  state_len = 0;
  listener_sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_sock < 0) die("seccomp listener socket: %s", strerror(errno));
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(r->argv[0]) >= sizeof sa.sun_path) die("seccomp listenerPath %s: path too long", r->argv[0]);
  strncpy(sa.sun_path, r->argv[0], sizeof sa.sun_path - 1);
  if (connect(listener_sock, (struct sockaddr *)&sa, sizeof sa) < 0)
    die("connect to seccomp listenerPath %s: %s", r->argv[0], strerror(errno));
}

/* Sends the listener fd with the process state (fd in the first sendmsg), then closes both. */
static void send_seccomp_listener(int lfd) {
  if (listener_sock < 0 || !seccomp_msg) {
    /* No agent (e.g. exec): notified syscalls then fail with ENOSYS, as with a closed listener. */
    close(lfd);
    return;
  }
  size_t len = strlen(seccomp_msg);
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {.iov_base = seccomp_msg, .iov_len = len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &lfd, sizeof(int));
  ssize_t n;
  do n = sendmsg(listener_sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) die("send seccomp state to listenerPath: %s", strerror(errno));
  if ((size_t)n < len) write_all(listener_sock, seccomp_msg + n, len - (size_t)n);
  close(listener_sock);
  listener_sock = -1;
  close(lfd);
}

static void op_seccomp(record_t *r) {
  /* seccomp FLAGS HEXBYTES */
  size_t hexlen = strlen(r->argv[1]);
  size_t n = hexlen / 2;
  unsigned char *bytes = malloc(n + 1);
  for (size_t i = 0; i < n; i++) {
    unsigned int b;
    sscanf(r->argv[1] + 2 * i, "%2x", &b);
    bytes[i] = (unsigned char)b;
  }
  struct sock_fprog prog = {.len = (unsigned short)(n / sizeof(struct sock_filter)), .filter = (struct sock_filter *)bytes};
  unsigned long flags = (unsigned long)num(r->argv[0]);
  long ret = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (ret < 0) die("load seccomp filter: %s", strerror(errno));
  /* From here on every syscall is the profile's to allow: only the listener hand-over (which
   * needs the fd the load returned) and the plan's remaining ops; `bytes` stays allocated. */
  if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) send_seccomp_listener((int)ret);
}

static void op_waitfifo(record_t *r) {
  char p[64];
  fdpath(fifo_fd, p, sizeof p);
  int w = open(p, O_WRONLY | O_CLOEXEC);
  if (w < 0) die("open exec fifo: %s", strerror(errno));
  write_all(w, "0", 1);
  close(w);
  close(fifo_fd);
  fifo_fd = -1;
}

static const char *env_get(const char *name) {
  size_t n = strlen(name);
  for (char **e = envv; e && *e; e++)
    if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
  return NULL;
}

/* Adds HOME from the container's /etc/passwd when the environment has none (as runc does). */
static void op_home(record_t *r) {
  if (env_get("HOME")) return;
  const char *home = "/";
  char line[4096];
  char found[4096];
  FILE *f = fopen("/etc/passwd", "re");
  if (f) {
    while (fgets(line, sizeof line, f)) {
      char *fields[7] = {0};
      int n = 0;
      char *p = line;
      for (char *tok = strsep(&p, ":"); tok && n < 7; tok = strsep(&p, ":")) fields[n++] = tok;
      if (n >= 6 && fields[2] && strcmp(fields[2], r->argv[0]) == 0) {
        snprintf(found, sizeof found, "%s", fields[5]);
        home = found;
        break;
      }
    }
    fclose(f);
  }
  size_t count = 0;
  while (envv && envv[count]) count++;
  char **next = calloc(count + 2, sizeof(char *));
  for (size_t i = 0; i < count; i++) next[i] = envv[i];
  size_t len = strlen(home) + 6;
  next[count] = malloc(len);
  snprintf(next[count], len, "HOME=%s", home);
  envv = next;
}

/*
 * cloexec: marks every fd above stdio and the preserved ones close-on-exec (CVE-2024-21626) and
 * gives SIGPIPE back its default disposition. Runs before any seccomp filter, so that a profile
 * never has to allow close_range or rt_sigaction for the helper's sake; every fd opened later
 * is close-on-exec already. Without close_range (kernels before 5.11) each fd in /proc/self/fd
 * is marked by itself, as runc does.
 */
static void op_cloexec(record_t *r) {
  unsigned int first = 3 + (unsigned)preserve_fds;
  if (close_range(first, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    if (errno != ENOSYS && errno != EINVAL) die("close_range: %s", strerror(errno));
    int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) die("open /proc/self/fd: %s", strerror(errno));
    char buf[4096];
    for (;;) {
      long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
      if (n < 0) die("read /proc/self/fd: %s", strerror(errno));
      if (n == 0) break;
      for (long off = 0; off < n;) {
        struct {
          uint64_t ino;
          int64_t off;
          unsigned short reclen;
          unsigned char type;
          char name[];
        } *d = (void *)(buf + off);
        long fd = strtol(d->name, NULL, 10);
        if (d->name[0] >= '0' && d->name[0] <= '9' && fd >= (long)first && fd != dfd) fcntl((int)fd, F_SETFD, FD_CLOEXEC);
        off += d->reclen;
      }
    }
    close(dfd);
  }
  signal(SIGPIPE, SIG_DFL);
}

/*
 * exec ARGS...: execve, and nothing else: the plan may have loaded a seccomp filter right
 * before, which then only has to allow execve (no allocation, no other syscall; a name without
 * a slash is tried in each $PATH directory).
 */
static void op_exec(record_t *r) {
  char **args = r->argv;
  if (strchr(args[0], '/')) {
    execve(args[0], args, envv);
    die("exec %s: %s", args[0], strerror(errno));
  }
  const char *path = env_get("PATH");
  if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  int last_err = ENOENT;
  for (const char *d = path;;) {
    const char *end = strchr(d, ':');
    size_t len = end ? (size_t)(end - d) : strlen(d);
    char full[PATH_MAX];
    if (snprintf(full, sizeof full, "%.*s/%s", (int)(len ? len : 1), len ? d : ".", args[0]) < (int)sizeof full) {
      execve(full, args, envv);
      if (errno != ENOENT && errno != ENOTDIR) last_err = errno;
    }
    if (!end) break;
    d = end + 1;
  }
  errno = last_err;
  die("exec: \"%s\": executable file not found in $PATH", args[0]);
}

/*
 * `pier-init --sealed-copy`: makes one sealed copy, prints its fd number and keeps it open until
 * stdin ends. The runtime service hands /proc/PID/fd/N to callers, which exec it directly: the
 * copy (CVE-2019-5736) is then made once per service instead of once per container.
 */
static int hold_sealed_copy(void) {
  int mfd = sealed_copy();
  if (fcntl(mfd, F_SETFD, 0) < 0) die("memfd: %s", strerror(errno));
  printf("%d\n", mfd);
  fflush(stdout);
  for (;;) {
    char c;
    ssize_t r = read(0, &c, 1);
    if (r == 0 || (r < 0 && errno != EINTR)) return 0;
  }
}

/*
 * A new network namespace, kept by bind-mounting it on TARGET (an existing empty file), with its
 * loopback up (what `unshare --net=TARGET ip link set lo up` does, without two processes).
 */
static int make_netns(const char *target) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (unshare(CLONE_NEWNET) < 0) _exit(errno);
    if (mount("/proc/self/ns/net", target, NULL, MS_BIND, NULL) < 0) _exit(errno);
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    if (sock < 0 || ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) _exit(errno);
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) _exit(errno);
    _exit(0);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
  errno = WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
  return -1;
}

/*
 * `pier-init --mounter`: mounts and unmounts for a long-lived caller (pierd's snapshotter), one
 * request per line on stdin, tab-separated, so that a mount costs a write instead of a process:
 *   "mount\tSOURCE\tTARGET\tFSTYPE\tFLAGS\tDATA", "umount\tTARGET\tFLAGS", "netns\tTARGET"
 * Each is answered on stdout with "ok" or "error MESSAGE". No policy: the caller decides every
 * argument. Ends at the end of stdin.
 */
static int serve_mounts(void) {
  static char line[65536];
  while (ctl_read_line(0, line, sizeof line)) {
    char *f[6] = {0};
    int n = 0;
    for (char *p = line; n < 6; n++) {
      f[n] = p;
      char *tab = strchr(p, '\t');
      if (!tab) {
        n++;
        break;
      }
      *tab = '\0';
      p = tab + 1;
    }
    int rc = -1;
    if (!strcmp(f[0], "mount") && n == 6)
      rc = mount(f[1], f[2], f[3], strtoul(f[4], NULL, 10), *f[5] ? f[5] : NULL);
    else if (!strcmp(f[0], "umount") && n == 3)
      rc = umount2(f[1], (int)strtol(f[2], NULL, 10));
    else if (!strcmp(f[0], "netns") && n == 2)
      rc = make_netns(f[1]);
    else
      errno = EINVAL;
    if (rc == 0) printf("ok\n");
    else printf("error %s\n", strerror(errno));
    fflush(stdout);
  }
  return 0;
}

/* ---- the ops that are a line or two, and the dispatch (plan-ops.h) ---- */

static void op_mode(record_t *r) { wait_mode = strcmp(r->argv[0], "wait") == 0; }

static void op_pidfile(record_t *r) { parent_pidfile = r->argv[0]; }

static void op_preserve(record_t *r) { preserve_fds = atoi(r->argv[0]); }

static void op_uidmap(record_t *r) { uid_map = r->argv[0]; }

static void op_gidmap(record_t *r) { gid_map = r->argv[0]; }

/* newuidmap|newgidmap PATH ARGS...: the record stays alive (plan_buf is never freed). */
static record_t *keep_record(const record_t *r) {
  record_t *h = malloc(sizeof *h);
  if (!h) die("out of memory");
  *h = *r;
  return h;
}

static void op_newuidmap(record_t *r) { uid_helper = keep_record(r); }

static void op_newgidmap(record_t *r) { gid_helper = keep_record(r); }

static void op_setgroups(record_t *r) { setgroups_val = r->argv[0]; }

static void op_mkfifo(record_t *r) {
  if (mkfifo(r->argv[0], 0622) < 0) die("mkfifo %s: %s", r->argv[0], strerror(errno));
  if (chmod(r->argv[0], 0622) < 0 || chown(r->argv[0], id_arg(r->argv[1], "fifo uid"), id_arg(r->argv[2], "fifo gid")) < 0)
    die("prepare fifo %s: %s", r->argv[0], strerror(errno));
}

static void op_openfifo(record_t *r) {
  fifo_fd = open(r->argv[0], O_PATH | O_CLOEXEC);
  if (fifo_fd < 0) die("open exec fifo %s: %s", r->argv[0], strerror(errno));
}

static void op_notify(record_t *r) {
  send_line("notify %s", r->argv[0]);
  if (!strcmp(r->argv[0], "ready")) {
    /* The runtime stops listening once created: later failures go to the container's stderr. */
    close(sync_fd);
    sync_fd = -1;
  }
}

static void op_unshare(record_t *r) {
  if (unshare((int)num(r->argv[0])) < 0) die("unshare: %s", strerror(errno));
}

static void op_root(record_t *r) {
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) die("become root: %s", strerror(errno));
  if (setgroups(0, NULL) < 0 && errno != EPERM) die("setgroups: %s", strerror(errno));
}

static void op_setsid(record_t *r) { setsid(); }

static void op_hostname(record_t *r) {
  if (sethostname(r->argv[0], strlen(r->argv[0])) < 0) die("sethostname: %s", strerror(errno));
}

static void op_domainname(record_t *r) {
  if (setdomainname(r->argv[0], strlen(r->argv[0])) < 0) die("setdomainname: %s", strerror(errno));
}

static void op_keyring(record_t *r) {
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, r->argv[0]) < 0 && errno != ENOSYS && errno != EPERM)
    die("join session keyring: %s", strerror(errno));
}

static void op_rlimit(record_t *r) {
  struct rlimit rl = {.rlim_cur = (rlim_t)num(r->argv[1]), .rlim_max = (rlim_t)num(r->argv[2])};
  if (setrlimit((int)num(r->argv[0]), &rl) < 0) die("setrlimit %s: %s", r->argv[0], strerror(errno));
}

static void op_consolepair(record_t *r) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair: %s", strerror(errno));
  proxy_sock = sv[0];
  console_sock = sv[1];
}

static void op_consize(record_t *r) {
  con_rows = (unsigned short)num(r->argv[0]);
  con_cols = (unsigned short)num(r->argv[1]);
}

static void op_umask(record_t *r) { umask((mode_t)num(r->argv[0])); }

/*
 * cwd PATH [verified]: the first time (as root, before any filter) also checks where it landed;
 * the plan enters it again as the user, when a filter may deny getcwd.
 */
static void op_cwd(record_t *r) {
  if (chdir(r->argv[0]) < 0) die("chdir to cwd (\"%s\") set in config.json failed: %s", r->argv[0], strerror(errno));
  char buf[PATH_MAX];
  /* A cwd reached through a leaked host fd reads as "(unreachable)..." (CVE-2024-21626). */
  if (r->argc < 2 && (!getcwd(buf, sizeof buf) || buf[0] != '/')) die("cwd %s is outside the container root", r->argv[0]);
}

static void op_nnp(record_t *r) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs: %s", strerror(errno));
}

/* The environment of exec: NULL-terminated even when empty (next_record allocates argc + 1). */
static void op_env(record_t *r) { envv = r->argv; }

static void op_personality(record_t *r) {
  /* Before any filter (as runc): the helper's remaining steps do not depend on it. */
  if (personality((unsigned long)num(r->argv[0])) < 0) die("personality %s: %s", r->argv[0], strerror(errno));
}

/* The plan was a task for the helper alone (e.g. devfilter), not a container. */
static void op_done(record_t *r) { _exit(0); }

static int compare_op(const void *name, const void *entry) {
  return strcmp(name, ((const plan_op_t *)entry)->name);
}

/* Runs one record: its op found in plan_ops (sorted, a binary search), its argument count checked. */
static void run_op(record_t *r) {
  const plan_op_t *op = bsearch(r->op, plan_ops, PLAN_OP_COUNT, sizeof plan_ops[0], compare_op);
  if (!op) die("plan: unknown op \"%s\"", r->op);
  if (r->argc < op->min_args || (op->max_args >= 0 && r->argc > op->max_args))
    die("plan: op %s got %d arguments, takes %s", r->op, r->argc, *op->signature ? op->signature : "none");
  op->run(r);
}

/*
 * `pier-init --ops`: the table this binary dispatches by, one op a line (NAME MIN MAX SIGNATURE,
 * tab-separated), for the test that compares it with TypeScript's. Exits 1 when the table is not
 * sorted, which the binary search needs.
 */
static int list_ops(void) {
  for (size_t i = 0; i < PLAN_OP_COUNT; i++) {
    if (i > 0 && strcmp(plan_ops[i - 1].name, plan_ops[i].name) >= 0) {
      fprintf(stderr, "pier-init: plan_ops is not sorted at %s\n", plan_ops[i].name);
      return 1;
    }
    printf("%s\t%d\t%d\t%s\n", plan_ops[i].name, plan_ops[i].min_args, plan_ops[i].max_args, plan_ops[i].signature);
  }
  return 0;
}

int main(int argc, char **argv, char **envp) {
  if (argc == 2 && !strcmp(argv[1], "--sealed-copy")) return hold_sealed_copy();
  if (argc == 2 && !strcmp(argv[1], "--mounter")) return serve_mounts();
  if (argc == 2 && !strcmp(argv[1], "--ops")) return list_ops();
  if (argc < 2) {
    fprintf(stderr, "usage: pier-init SYNC_FD [CONTROL_FD] (run by pier-runtime, not by hand)\n");
    return 2;
  }
  sync_fd = atoi(argv[1]);
  if (fcntl(sync_fd, F_GETFD) < 0) {
    sync_fd = -1;
    die("bad sync fd %s", argv[1]);
  }
  if (argc > 2) {
    ctl_fd = atoi(argv[2]);
    if (fcntl(ctl_fd, F_GETFD) < 0) {
      ctl_fd = -1;
      die("bad control fd %s", argv[2]);
    }
  }
  signal(SIGPIPE, SIG_IGN);
  reexec_from_memfd(argv, envp);
  /* Only after the re-exec: the sealed copy must still find the socket open. */
  fcntl(sync_fd, F_SETFD, FD_CLOEXEC);
  if (ctl_fd >= 0) fcntl(ctl_fd, F_SETFD, FD_CLOEXEC);
  read_plan();
  record_t r;
  while (next_record(&r)) run_op(&r);
  die("plan ended without exec");
}

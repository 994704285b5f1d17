/*
 * The command line front ends of pier's resident services, built twice by native/build.sh:
 * `pier-runtime` (the runtime's command line, what podman or containerd execute) and `pier` (the
 * user CLI). FE_* below name the differences.
 *
 * Starting Node.js costs about 60 ms, three times what `runc run` takes in all, so the
 * TypeScript (all of the policy) stays resident in a service process, and this program only
 * forwards: it sends its arguments, working directory and environment to the service over a
 * unix socket, relays what the service answers to its own stdout and stderr (see ctl-relay.h)
 * and exits with the status the service names. When a runtime command starts a container
 * process, the service answers "exec TOKEN [SEALED_COPY]": this program opens a second connection
 * for pier-init's sync protocol and becomes pier-init, so the container is this process's child
 * exactly as under runc (conmon's subreaper, --preserve-fds and the caller's stdio all behave the
 * same). When a command needs the caller's own process (its stdin or terminal, a long life), the
 * service answers "direct" and this program execs the plain Node.js command line. `pier` passes
 * the signals it receives on to the service ("sig NAME"), where `pier run` gives them to the
 * container as the docker CLI does.
 *
 * The service (FE_SERVICE_JS beside this build, or for the runtime FE_SERVICE_BUNDLE, the same
 * service as one script with V8's code cache, when the build made it) is started on first use,
 * once, under a lock, and exits by itself when idle. It runs as the caller: one per install, user and user namespace, at
 * /run/FE_SOCKET_DIR/<hash>.sock for root, else under $XDG_RUNTIME_DIR/FE_SOCKET_DIR/ (mode 0700
 * either way). With FE_DIRECT_ENV=1, without a usable $XDG_RUNTIME_DIR for a user, when the
 * service cannot start, or (pier-runtime) with "-" among the arguments (stdin input), this
 * program execs the plain Node.js command line instead, which does the same work in one process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl-relay.h"

#ifndef PIER_NODE
#define PIER_NODE "node"
#endif

#ifdef FE_PIER
#define FE_NAME "pier"
#define FE_SERVICE "CLI service"
#define FE_SERVICE_JS "dist/cli/service/main.js"
#define FE_CLI_JS "dist/cli/pier.js"
#define FE_SOCKET_DIR "pier-cli-service"
#define FE_DIRECT_ENV "PIER_CLI_DIRECT"
#define FE_SOCKET_ENV "PIER_CLI_SERVICE_SOCKET"
#define FE_STDIN_DASH_DIRECT 0
#define FE_FORWARD_SIGNALS 1
#else
#define FE_NAME "pier-runtime"
#define FE_SERVICE "runtime service"
#define FE_SERVICE_JS "dist/runtime/service/main.js"
/* The same service as one script compiled with V8's code cache (see scripts/bundle-service.mjs):
 * what a cold call starts when the build made it. */
#define FE_SERVICE_BUNDLE "dist/runtime/service/service.cjs"
#define FE_CLI_JS "dist/runtime/cli/main.js"
#define FE_SOCKET_DIR "pier-runtime-service"
#define FE_DIRECT_ENV "PIER_RUNTIME_DIRECT"
#define FE_SOCKET_ENV "PIER_RUNTIME_SERVICE_SOCKET"
#define FE_STDIN_DASH_DIRECT 1
#define FE_FORWARD_SIGNALS 0
#endif

extern char **environ;

static char build_dir[PATH_MAX]; /* directory of this executable (native/build) */
static char service_js[PATH_MAX + 64];
#ifdef FE_SERVICE_BUNDLE
static char service_bundle[PATH_MAX + 64];
#endif
static char cli_js[PATH_MAX + 64];

static const char *node_path(void) {
  const char *n = getenv("PIER_NODE");
  return n && *n ? n : PIER_NODE;
}

/* Runs the plain Node.js command line with the same arguments; never returns. */
static void __attribute__((noreturn)) exec_direct(int argc, char **argv) {
  char **args = calloc((size_t)argc + 2, sizeof *args);
  if (!args) _exit(1);
  args[0] = (char *)node_path();
  args[1] = cli_js;
  for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
  execvp(args[0], args);
  fprintf(stderr, FE_NAME ": cannot run %s: %s\n", args[0], strerror(errno));
  _exit(1);
}

static int connect_to(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return -1;
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) return fd;
  close(fd);
  return -1;
}

/*
 * Starts the service detached from this process (its own session, stdio on /dev/null). Its fd 3
 * is the write end of a pipe whose read end this returns (-1 when there is none): the service
 * writes a byte there once it listens (`--ready-fd 3`, see src/common/service/resident.ts), and
 * the pipe ends when the service does, so the caller waits for either instead of polling.
 */
static int spawn_service(const char *sock) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) < 0) ready[0] = ready[1] = -1;
  pid_t p = fork();
  if (p < 0) {
    if (ready[0] >= 0) {
      close(ready[0]);
      close(ready[1]);
    }
    return -1;
  }
  if (p == 0) {
    setsid();
    if (fork() != 0) _exit(0);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
    }
    for (int fd = 3; fd < 1024; fd++)
      if (fd != ready[1]) close(fd);
    if (ready[1] >= 0) {
      /* fd 3, without close-on-exec (dup2 clears it; fcntl when it is fd 3 already). */
      if (ready[1] == 3) fcntl(3, F_SETFD, 0);
      else if (dup2(ready[1], 3) == 3) close(ready[1]);
    }
    if (chdir("/") < 0) _exit(1);
    /* The service serves every later caller: this caller's Node.js options (a --require, V8
     * flags that would also void the runtime service's code cache) are not made theirs. */
    unsetenv("NODE_OPTIONS");
    char *readyfd = ready[1] >= 0 ? "--ready-fd" : NULL;
    char *args[] = {(char *)node_path(), service_js, "--socket", (char *)sock, readyfd, "3", NULL, NULL};
#ifdef FE_SERVICE_BUNDLE
    /* The young-generation cap of resident services from the command line
     * (YOUNG_GENERATION_CAP_FLAG in src/common/lean-heap.ts): set at run time it would void the
     * code cache (see scripts/service-loader.cjs). */
    if (access(service_bundle, R_OK) == 0) {
      char *bundled[] = {(char *)node_path(), "--max-semi-space-size=1", service_bundle, "--socket", (char *)sock,
                         readyfd, "3", NULL};
      memcpy(args, bundled, sizeof bundled);
    }
#endif
    execvp(args[0], args);
    _exit(127);
  }
  if (ready[1] >= 0) close(ready[1]);
  while (waitpid(p, NULL, 0) < 0 && errno == EINTR) {
  }
  return ready[0];
}

/* Connects to the service, starting it first when nothing listens; -1 when that fails. */
static int connect_service(const char *dir, const char *sock) {
  int fd = connect_to(sock);
  if (fd >= 0) return fd;
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) return -1;
  /* Only a directory of the caller's own that nobody else can write to holds the socket. */
  struct stat st;
  if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) return -1;
  char lock_path[PATH_MAX + 64];
  snprintf(lock_path, sizeof lock_path, "%s.lock", sock);
  int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) return -1;
  while (flock(lock, LOCK_EX) < 0 && errno == EINTR) {
  }
  /* Another caller may have started it while this one waited for the lock. */
  fd = connect_to(sock);
  if (fd < 0) {
    int ready = spawn_service(sock);
    if (ready >= 0) {
      /* Its byte once it listens, or the end when it left first (then the polling below). */
      struct pollfd p = {.fd = ready, .events = POLLIN};
      char c;
      int n;
      while ((n = poll(&p, 1, 10000)) < 0 && errno == EINTR) {
      }
      if (n > 0 && read(ready, &c, 1) == 1) fd = connect_to(sock);
      close(ready);
    }
    struct timespec pause = {0, 2 * 1000 * 1000};
    for (int i = 0; i < 5000 && fd < 0; i++) { /* up to about 10 s on a loaded machine */
      nanosleep(&pause, NULL);
      fd = connect_to(sock);
    }
  }
  close(lock);
  return fd;
}

/* True for root of the initial user namespace (uid_map is the whole identity map). */
static int host_root(void) {
  FILE *f = fopen("/proc/self/uid_map", "re");
  if (!f) return 0;
  unsigned long inside = 1, outside = 1, count = 0;
  int n = fscanf(f, "%lu %lu %lu", &inside, &outside, &count);
  fclose(f);
  return n == 3 && inside == 0 && outside == 0 && count == 4294967295UL;
}

struct buf {
  char *data;
  size_t len, cap;
};

static void put(struct buf *b, const char *s) {
  size_t n = strlen(s) + 1; /* with its NUL: the fields are NUL-separated */
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    b->data = realloc(b->data, b->cap);
    if (!b->data) _exit(1);
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
}

static int send_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    /* MSG_NOSIGNAL: a service that closed on us is an answer, not a reason to die of SIGPIPE. */
    ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return 0;
    p += w;
    len -= (size_t)w;
  }
  return 1;
}

/* The request: "req LEN\n" then cwd, pid, argc, the arguments, envc, the environment; NUL-separated. */
static int send_request(int fd, int argc, char **argv) {
  struct buf b = {0};
  char cwd[PATH_MAX], num[32];
  if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, "/");
  put(&b, cwd);
  snprintf(num, sizeof num, "%d", (int)getpid());
  put(&b, num);
  snprintf(num, sizeof num, "%d", argc - 1);
  put(&b, num);
  for (int i = 1; i < argc; i++) put(&b, argv[i]);
  int envc = 0;
  for (char **e = environ; *e; e++) envc++;
  snprintf(num, sizeof num, "%d", envc);
  put(&b, num);
  for (char **e = environ; *e; e++) put(&b, *e);
  char head[64];
  int n = snprintf(head, sizeof head, "req %zu\n", b.len);
  int ok = send_all(fd, head, (size_t)n) && send_all(fd, b.data, b.len);
  free(b.data);
  return ok;
}

/* Becomes pier-init with a second connection as its sync socket and `ctl` as its control fd. */
static void __attribute__((noreturn)) become_init(const char *sock, int ctl, char *token) {
  char *copy = strchr(token, ' ');
  if (copy) *copy++ = '\0';
  int sync = connect_to(sock);
  char line[128];
  int n = snprintf(line, sizeof line, "sync %s\n", token);
  if (sync < 0 || !send_all(sync, line, (size_t)n)) {
    fprintf(stderr, FE_NAME ": lost the " FE_SERVICE "\n");
    _exit(1);
  }
  /* Both must survive the exec; pier-init marks them close-on-exec again before the container. */
  fcntl(sync, F_SETFD, 0);
  fcntl(ctl, F_SETFD, 0);
  char init[PATH_MAX + 16], sync_s[16], ctl_s[16];
  snprintf(init, sizeof init, "%s/pier-init", build_dir);
  snprintf(sync_s, sizeof sync_s, "%d", sync);
  snprintf(ctl_s, sizeof ctl_s, "%d", ctl);
  char *args[] = {init, sync_s, ctl_s, NULL};
  char *noenv[] = {NULL};
  /* The service's sealed copy of pier-init (/proc/PID/fd/N) spares pier-init copying itself. */
  if (copy && !strncmp(copy, "/proc/", 6)) execve(copy, args, noenv);
  execve(init, args, noenv);
  fprintf(stderr, FE_NAME ": cannot run %s: %s\n", init, strerror(errno));
  _exit(1);
}

/* The connection the signal handler reports on. */
static volatile int signal_fd = -1;

static void pass_signal(int sig) {
  const char *line = sig == SIGINT    ? "sig SIGINT\n"
                     : sig == SIGTERM ? "sig SIGTERM\n"
                     : sig == SIGHUP  ? "sig SIGHUP\n"
                     : sig == SIGQUIT ? "sig SIGQUIT\n"
                     : sig == SIGUSR1 ? "sig SIGUSR1\n"
                                      : "sig SIGUSR2\n";
  int saved = errno;
  /* send(2) is async-signal-safe; the main flow only reads from fd once the request is sent. */
  if (signal_fd >= 0) send(signal_fd, line, strlen(line), MSG_NOSIGNAL);
  errno = saved;
}

/* From here on the service decides what a signal does (a command with no use for it ends). */
static void forward_signals(int fd) {
  signal_fd = fd;
  struct sigaction sa = {.sa_handler = pass_signal, .sa_flags = SA_RESTART};
  sigemptyset(&sa.sa_mask);
  int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &sa, NULL);
}

int main(int argc, char **argv) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    fprintf(stderr, FE_NAME ": cannot find its own path\n");
    return 1;
  }
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  *slash = '\0';
  snprintf(build_dir, sizeof build_dir, "%s", exe);
  snprintf(service_js, sizeof service_js, "%s/../../" FE_SERVICE_JS, build_dir);
  snprintf(cli_js, sizeof cli_js, "%s/../../" FE_CLI_JS, build_dir);
#ifdef FE_SERVICE_BUNDLE
  snprintf(service_bundle, sizeof service_bundle, "%s/../../" FE_SERVICE_BUNDLE, build_dir);
#endif

  const char *direct = getenv(FE_DIRECT_ENV);
  if (direct && *direct && strcmp(direct, "0") != 0) exec_direct(argc, argv);
  for (int i = 1; FE_STDIN_DASH_DIRECT && i < argc; i++)
    if (!strcmp(argv[i], "-")) exec_direct(argc, argv);

  /*
   * One service per install, user and user namespace (what the service decides depends on all
   * three: rootless rules, the default state root): root of the host uses /run, everyone else
   * (users, rootless podman's namespace) their $XDG_RUNTIME_DIR.
   */
  char real[PATH_MAX], userns[64] = "";
  if (!realpath(service_js, real)) exec_direct(argc, argv);
  ssize_t un = readlink("/proc/self/ns/user", userns, sizeof userns - 1);
  if (un > 0) userns[un] = '\0';
  uint64_t h = 1469598103934665603ULL;
  for (const char *p = real; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
  for (const char *p = userns; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
  char dir_buf[PATH_MAX];
  const char *dir = "/run/" FE_SOCKET_DIR;
  if (geteuid() != 0 || !host_root()) {
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (!xdg || xdg[0] != '/' || access(xdg, W_OK) != 0) exec_direct(argc, argv);
    snprintf(dir_buf, sizeof dir_buf, "%s/" FE_SOCKET_DIR, xdg);
    dir = dir_buf;
  }
  char sock[PATH_MAX + 32];
  const char *override = getenv(FE_SOCKET_ENV);
  if (override && *override) snprintf(sock, sizeof sock, "%s", override);
  else snprintf(sock, sizeof sock, "%s/%016llx.sock", dir, (unsigned long long)h);

  /* A service that is shutting down (idle, or its files were rebuilt) closes without a word:
   * nothing was done for this request, so it goes to a successor. */
  for (int attempt = 0; attempt < 5; attempt++) {
    int fd = connect_service(override && *override ? "/" : dir, sock);
    if (fd < 0 || !send_request(fd, argc, argv)) exec_direct(argc, argv);
    if (FE_FORWARD_SIGNALS) forward_signals(fd);
    char line[256];
    while (ctl_next(fd, line, sizeof line)) {
      if (!strncmp(line, "exit ", 5)) return atoi(line + 5) & 0xff;
      if (!strncmp(line, "exec ", 5)) become_init(sock, fd, line + 5);
      if (!strcmp(line, "direct")) {
        close(fd);
        exec_direct(argc, argv);
      }
    }
    if (ctl_lines_read > 0) break;
    close(fd);
  }
  fprintf(stderr, FE_NAME ": the " FE_SERVICE " went away\n");
  return 1;
}

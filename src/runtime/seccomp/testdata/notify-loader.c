/*
 * Test-only seccomp user-notification harness: the child loads a compiled filter that uses
 * SCMP_ACT_NOTIFY (flags must include SECCOMP_FILTER_FLAG_NEW_LISTENER), passes the listener
 * fd to the parent over a socketpair (SCM_RIGHTS, as a runtime hands it to a seccomp agent) and
 * execs the command; the parent acts as the agent and answers every notification with
 * -<errno>. Exit status: the child's, 125 on harness failure, 128+signal when killed.
 *
 *   notify-loader <program.bpf> <flags> <errno> <path> [argv...]
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "notify-loader: %s: %s\n", what, strerror(errno));
  exit(125);
}

static void send_fd(int sock, int fd) {
  char byte = 0;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  char ctl[CMSG_SPACE(sizeof(int))];
  memset(ctl, 0, sizeof(ctl));
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  if (sendmsg(sock, &msg, 0) != 1) die("sendmsg");
}

static int recv_fd(int sock) {
  char byte;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  char ctl[CMSG_SPACE(sizeof(int))];
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
  if (recvmsg(sock, &msg, 0) != 1) die("recvmsg");
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) die("no fd received");
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s <program.bpf> <flags> <errno> <path> [argv...]\n", argv[0]);
    return 125;
  }
  static struct sock_filter insns[BPF_MAXINSNS + 1];
  FILE *f = fopen(argv[1], "rb");
  if (!f) die("open program");
  size_t n = fread(insns, sizeof(insns[0]), BPF_MAXINSNS + 1, f);
  fclose(f);
  if (n == 0 || n > BPF_MAXINSNS) die("program size");
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = insns};
  unsigned long flags = strtoul(argv[2], NULL, 0);
  int answer = atoi(argv[3]);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) die("socketpair");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    close(sv[0]);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("PR_SET_NO_NEW_PRIVS");
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (fd < 0) die("seccomp(SECCOMP_SET_MODE_FILTER)");
    send_fd(sv[1], (int)fd);
    close((int)fd);
    execv(argv[4], argv + 4);
    die("execv");
  }
  close(sv[1]);
  int listener = recv_fd(sv[0]);
  struct seccomp_notif_sizes sizes;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) die("SECCOMP_GET_NOTIF_SIZES");
  struct seccomp_notif *req = calloc(1, sizes.seccomp_notif);
  struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp);
  for (;;) {
    struct pollfd p = {.fd = listener, .events = POLLIN};
    int r = poll(&p, 1, 10000);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die("poll listener");
    if (p.revents & (POLLHUP | POLLERR)) break; /* the filtered process is gone */
    memset(req, 0, sizes.seccomp_notif);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) {
      if (errno == EINTR || errno == ENOENT) continue;
      break;
    }
    fprintf(stderr, "agent: syscall %d\n", req->data.nr);
    memset(resp, 0, sizes.seccomp_notif_resp);
    resp->id = req->id;
    resp->error = -answer;
    resp->val = 0;
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) != 0 && errno != ENOENT) die("SECCOMP_IOCTL_NOTIF_SEND");
  }
  int status;
  if (waitpid(pid, &status, 0) < 0) die("waitpid");
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

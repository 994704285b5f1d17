/*
 * The plan ops pier-init executes. GENERATED from src/runtime/plan/op-table.ts by
 * `node scripts/gen-plan-ops.mjs` (after `npm run build`): do not edit by hand;
 * src/runtime/plan/op-header_test.ts fails when this file is out of date.
 *
 * Included by pier-init.c after record_t: each op NAME is run by `static void op_NAME(record_t *r)`
 * once its argument count is within [min_args, max_args] (max_args -1: no upper bound).
 */
#ifndef PIER_PLAN_OPS_H
#define PIER_PLAN_OPS_H

typedef struct {
  const char *name;
  void (*run)(record_t *r);
  int min_args;
  int max_args;
  const char *signature;
} plan_op_t;

/* bounding LAST_CAP:int MASK:mask
 *   drops every capability not in MASK from the bounding set */
static void op_bounding(record_t *r);
/* caps LAST_CAP:int EFFECTIVE:mask PERMITTED:mask INHERITABLE:mask AMBIENT:mask
 *   sets the capability sets */
static void op_caps(record_t *r);
/* cgroupfd DIR:text
 *   the child of clone is born in cgroup v2 directory DIR (CLONE_INTO_CGROUP) */
static void op_cgroupfd(record_t *r);
/* chroot
 *   chroot into the rootfs (--no-pivot) */
static void op_chroot(record_t *r);
/* cloexec
 *   every fd above stdio and the preserved ones becomes close-on-exec */
static void op_cloexec(record_t *r);
/* clone FLAGS:int
 *   splits into parent and child with the CLONE_NEW* FLAGS; the child runs what follows */
static void op_clone(record_t *r);
/* consize ROWS:int COLS:int
 *   the size of the pty that console opens */
static void op_consize(record_t *r);
/* consock PATH:text
 *   connects the --console-socket at PATH */
static void op_consock(record_t *r);
/* console [CONSOLE:devconsole]
 *   opens a pty, sends its master, makes it stdio; devconsole also binds it at /dev/console */
static void op_console(record_t *r);
/* consolepair
 *   a socket pair through which the waiting parent proxies the pty (run with a tty) */
static void op_consolepair(record_t *r);
/* cwd PATH:text [VERIFIED:verified]
 *   chdir; without verified, also checks that it landed inside the container */
static void op_cwd(record_t *r);
/* devfilter DIR:text LICENSE:text PROGRAM:bytes
 *   loads PROGRAM (BPF_PROG_TYPE_CGROUP_DEVICE, LICENSE) and attaches it to cgroup v2 DIR */
static void op_devfilter(record_t *r);
/* domainname NAME:text
 *   setdomainname */
static void op_domainname(record_t *r);
/* done
 *   ends a plan that was a task for the helper alone (exit 0) */
static void op_done(record_t *r);
/* env VAR:text...
 *   the environment of exec */
static void op_env(record_t *r);
/* exec FILE:text ARG:text...
 *   execve FILE with ARGV (FILE is also argv[0]) and the env op's environment */
static void op_exec(record_t *r);
/* gidmap MAP:text
 *   gid_map text the parent writes for a new user namespace */
static void op_gidmap(record_t *r);
/* home UID:int
 *   sets HOME from the passwd entry of UID when the environment has none */
static void op_home(record_t *r);
/* hook PATH:text TIMEOUT_SECONDS:int NARGS:int ARG_OR_ENV:text...
 *   runs the hook at PATH (NARGS arguments, then its environment), state JSON on stdin */
static void op_hook(record_t *r);
/* hookstate STATUS:creating|created
 *   the status that the container's state JSON shows to the following hooks */
static void op_hookstate(record_t *r);
/* hostname NAME:text
 *   sethostname */
static void op_hostname(record_t *r);
/* idmapmount INDEX:int DEST:text KIND:file|dir FLAGS:int [GUARD:noproc]
 *   attaches the idmaptree INDEX at DEST inside the rootfs with FLAGS; noproc refuses a DEST in procfs */
static void op_idmapmount(record_t *r);
/* idmaptree INDEX:int SRC:text UIDMAP:text GIDMAP:text IDMAP_RECURSIVE:bit CLONE_RECURSIVE:bit
 *   clones SRC (open_tree) and idmaps it with UIDMAP/GIDMAP before clone, for idmapmount INDEX */
static void op_idmaptree(record_t *r);
/* joincgroups
 *   moves this process into each tasksfd hierarchy */
static void op_joincgroups(record_t *r);
/* keyring NAME:text
 *   joins a new session keyring named NAME */
static void op_keyring(record_t *r);
/* mask PATH:text
 *   covers PATH with /dev/null or an empty read-only tmpfs (linux.maskedPaths) */
static void op_mask(record_t *r);
/* mkdev PATH:text TYPE:c|b|p MAJOR:int MINOR:int MODE:int UID:int GID:int BIND:bit
 *   makes (or, BIND 1, binds the host's) device node PATH inside the rootfs */
static void op_mkdev(record_t *r);
/* mkfifo PATH:text UID:int GID:int
 *   makes the exec fifo at PATH, mode 0622, owned by UID:GID */
static void op_mkfifo(record_t *r);
/* mode MODE:detach|wait
 *   detach: the parent exits once the child runs; wait: it waits and exits with its status */
static void op_mode(record_t *r);
/* mount SRC:text DEST:text FSTYPE:text FLAGS:int DATA:text [KIND:file|dir|ordinary] [GUARD:noproc]
 *   mounts SRC on DEST inside the rootfs; KIND file makes a file, ordinary wants a directory that is no symlink; noproc refuses a DEST in procfs */
static void op_mount(record_t *r);
/* newgidmap PATH:text ID:int HOSTID:int SIZE:int MORE:int...
 *   the parent maps gids with the setuid helper at PATH (after the pid: ID HOSTID SIZE...) */
static void op_newgidmap(record_t *r);
/* newuidmap PATH:text ID:int HOSTID:int SIZE:int MORE:int...
 *   the parent maps uids with the setuid helper at PATH (after the pid: ID HOSTID SIZE...) */
static void op_newuidmap(record_t *r);
/* nnp
 *   sets no_new_privs */
static void op_nnp(record_t *r);
/* notify NAME:text
 *   tells the runtime NAME; after ready it stops listening */
static void op_notify(record_t *r);
/* oom SCORE:int
 *   writes SCORE to /proc/self/oom_score_adj */
static void op_oom(record_t *r);
/* openfifo PATH:text
 *   opens the exec fifo at PATH (O_PATH) for waitfifo */
static void op_openfifo(record_t *r);
/* personality DOMAIN:int
 *   personality DOMAIN (before any filter) */
static void op_personality(record_t *r);
/* pidfile PATH:text
 *   the parent writes the child's pid to PATH before it reports it */
static void op_pidfile(record_t *r);
/* pivot
 *   pivot_root into the rootfs, the old root detached */
static void op_pivot(record_t *r);
/* preserve COUNT:int
 *   fds 3 .. 3+COUNT-1 reach the container process */
static void op_preserve(record_t *r);
/* propagate DEST:text FLAGS:int
 *   sets the propagation FLAGS of the mount at DEST inside the rootfs */
static void op_propagate(record_t *r);
/* readonlyroot
 *   remounts / read-only */
static void op_readonlyroot(record_t *r);
/* rlimit RESOURCE:int SOFT:decimal HARD:decimal
 *   setrlimit RESOURCE to SOFT and HARD */
static void op_rlimit(record_t *r);
/* root
 *   becomes root (uid, gid 0, no groups) of the user namespace */
static void op_root(record_t *r);
/* rootfs PATH:text
 *   binds the rootfs at PATH onto itself, the root of what follows */
static void op_rootfs(record_t *r);
/* rootprop FLAGS:int
 *   sets the propagation FLAGS of / */
static void op_rootprop(record_t *r);
/* ropath PATH:text
 *   makes PATH read-only (linux.readonlyPaths) */
static void op_ropath(record_t *r);
/* seccomp FLAGS:int PROGRAM:bytes
 *   loads the seccomp filter PROGRAM (struct sock_filter[]) with FLAGS */
static void op_seccomp(record_t *r);
/* seccompmsg PATH:text
 *   connects the seccomp listener socket at PATH (sync seccomp's answer is the message) */
static void op_seccompmsg(record_t *r);
/* setattr DEST:text SET:int CLEAR:int
 *   sets and clears the recursive mount attributes at DEST (mount_setattr) */
static void op_setattr(record_t *r);
/* setgroups VALUE:deny
 *   the parent writes VALUE to the child's /proc/PID/setgroups */
static void op_setgroups(record_t *r);
/* setns PATH:text FLAGS:int
 *   joins the namespace file at PATH (FLAGS: its CLONE_NEW* type) */
static void op_setns(record_t *r);
/* setsid
 *   starts a new session */
static void op_setsid(record_t *r);
/* symlink TARGET:text LINKPATH:text
 *   makes symlink LINKPATH -> TARGET inside the rootfs */
static void op_symlink(record_t *r);
/* sync NAME:text
 *   asks the runtime for sync point NAME and waits for its answer */
static void op_sync(record_t *r);
/* syncsend NAME:text
 *   asks the runtime for sync point NAME without waiting (see syncwait) */
static void op_syncsend(record_t *r);
/* syncwait
 *   waits for the runtime's answer to the last syncsend */
static void op_syncwait(record_t *r);
/* sysctl PATH:text VALUE:text
 *   writes VALUE to PATH below /proc/sys */
static void op_sysctl(record_t *r);
/* tasksfd FILE:text
 *   opens a cgroup v1 tasks FILE on the host, for joincgroups */
static void op_tasksfd(record_t *r);
/* timens OFFSETS:text
 *   unshares a time namespace and writes its OFFSETS (timens_offsets text) */
static void op_timens(record_t *r);
/* uidmap MAP:text
 *   uid_map text the parent writes for a new user namespace */
static void op_uidmap(record_t *r);
/* umask MASK:int
 *   umask */
static void op_umask(record_t *r);
/* unshare FLAGS:int
 *   unshares the CLONE_NEW* FLAGS */
static void op_unshare(record_t *r);
/* user UID:int GID:int GROUP:text...
 *   setgroups (GROUP... ; - leaves them), setresgid GID, setresuid UID */
static void op_user(record_t *r);
/* waitfifo
 *   waits for start: opens the exec fifo for writing */
static void op_waitfifo(record_t *r);

/* Sorted by name (strcmp order) for bsearch. */
static const plan_op_t plan_ops[] = {
    {"bounding", op_bounding, 2, 2, "LAST_CAP:int MASK:mask"},
    {"caps", op_caps, 5, 5, "LAST_CAP:int EFFECTIVE:mask PERMITTED:mask INHERITABLE:mask AMBIENT:mask"},
    {"cgroupfd", op_cgroupfd, 1, 1, "DIR:text"},
    {"chroot", op_chroot, 0, 0, ""},
    {"cloexec", op_cloexec, 0, 0, ""},
    {"clone", op_clone, 1, 1, "FLAGS:int"},
    {"consize", op_consize, 2, 2, "ROWS:int COLS:int"},
    {"consock", op_consock, 1, 1, "PATH:text"},
    {"console", op_console, 0, 1, "[CONSOLE:devconsole]"},
    {"consolepair", op_consolepair, 0, 0, ""},
    {"cwd", op_cwd, 1, 2, "PATH:text [VERIFIED:verified]"},
    {"devfilter", op_devfilter, 3, 3, "DIR:text LICENSE:text PROGRAM:bytes"},
    {"domainname", op_domainname, 1, 1, "NAME:text"},
    {"done", op_done, 0, 0, ""},
    {"env", op_env, 0, -1, "VAR:text..."},
    {"exec", op_exec, 1, -1, "FILE:text ARG:text..."},
    {"gidmap", op_gidmap, 1, 1, "MAP:text"},
    {"home", op_home, 1, 1, "UID:int"},
    {"hook", op_hook, 3, -1, "PATH:text TIMEOUT_SECONDS:int NARGS:int ARG_OR_ENV:text..."},
    {"hookstate", op_hookstate, 1, 1, "STATUS:creating|created"},
    {"hostname", op_hostname, 1, 1, "NAME:text"},
    {"idmapmount", op_idmapmount, 4, 5, "INDEX:int DEST:text KIND:file|dir FLAGS:int [GUARD:noproc]"},
    {"idmaptree", op_idmaptree, 6, 6, "INDEX:int SRC:text UIDMAP:text GIDMAP:text IDMAP_RECURSIVE:bit CLONE_RECURSIVE:bit"},
    {"joincgroups", op_joincgroups, 0, 0, ""},
    {"keyring", op_keyring, 1, 1, "NAME:text"},
    {"mask", op_mask, 1, 1, "PATH:text"},
    {"mkdev", op_mkdev, 8, 8, "PATH:text TYPE:c|b|p MAJOR:int MINOR:int MODE:int UID:int GID:int BIND:bit"},
    {"mkfifo", op_mkfifo, 3, 3, "PATH:text UID:int GID:int"},
    {"mode", op_mode, 1, 1, "MODE:detach|wait"},
    {"mount", op_mount, 5, 7, "SRC:text DEST:text FSTYPE:text FLAGS:int DATA:text [KIND:file|dir|ordinary] [GUARD:noproc]"},
    {"newgidmap", op_newgidmap, 4, -1, "PATH:text ID:int HOSTID:int SIZE:int MORE:int..."},
    {"newuidmap", op_newuidmap, 4, -1, "PATH:text ID:int HOSTID:int SIZE:int MORE:int..."},
    {"nnp", op_nnp, 0, 0, ""},
    {"notify", op_notify, 1, 1, "NAME:text"},
    {"oom", op_oom, 1, 1, "SCORE:int"},
    {"openfifo", op_openfifo, 1, 1, "PATH:text"},
    {"personality", op_personality, 1, 1, "DOMAIN:int"},
    {"pidfile", op_pidfile, 1, 1, "PATH:text"},
    {"pivot", op_pivot, 0, 0, ""},
    {"preserve", op_preserve, 1, 1, "COUNT:int"},
    {"propagate", op_propagate, 2, 2, "DEST:text FLAGS:int"},
    {"readonlyroot", op_readonlyroot, 0, 0, ""},
    {"rlimit", op_rlimit, 3, 3, "RESOURCE:int SOFT:decimal HARD:decimal"},
    {"root", op_root, 0, 0, ""},
    {"rootfs", op_rootfs, 1, 1, "PATH:text"},
    {"rootprop", op_rootprop, 1, 1, "FLAGS:int"},
    {"ropath", op_ropath, 1, 1, "PATH:text"},
    {"seccomp", op_seccomp, 2, 2, "FLAGS:int PROGRAM:bytes"},
    {"seccompmsg", op_seccompmsg, 1, 1, "PATH:text"},
    {"setattr", op_setattr, 3, 3, "DEST:text SET:int CLEAR:int"},
    {"setgroups", op_setgroups, 1, 1, "VALUE:deny"},
    {"setns", op_setns, 2, 2, "PATH:text FLAGS:int"},
    {"setsid", op_setsid, 0, 0, ""},
    {"symlink", op_symlink, 2, 2, "TARGET:text LINKPATH:text"},
    {"sync", op_sync, 1, 1, "NAME:text"},
    {"syncsend", op_syncsend, 1, 1, "NAME:text"},
    {"syncwait", op_syncwait, 0, 0, ""},
    {"sysctl", op_sysctl, 2, 2, "PATH:text VALUE:text"},
    {"tasksfd", op_tasksfd, 1, 1, "FILE:text"},
    {"timens", op_timens, 1, 1, "OFFSETS:text"},
    {"uidmap", op_uidmap, 1, 1, "MAP:text"},
    {"umask", op_umask, 1, 1, "MASK:int"},
    {"unshare", op_unshare, 1, 1, "FLAGS:int"},
    {"user", op_user, 2, -1, "UID:int GID:int GROUP:text..."},
    {"waitfifo", op_waitfifo, 0, 0, ""},
};

#define PLAN_OP_COUNT (sizeof plan_ops / sizeof plan_ops[0])

#endif

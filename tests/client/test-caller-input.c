/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host-side daemons act only on what a caller may choose (cgproc(7) SECURITY, "Caller input"),
 * checked with a real cgprocfs (suite client, root):
 *  - a reader's CGPROC_RUNDIR is never opened by root cgprocfs: `table` in a reader's directory,
 *    a symlink to a file watched with inotify, sees no open;
 *  - a reader pointing CGPROC_RUNDIR at a FUSE mount that never answers stalls nobody: an innocent
 *    reader still gets its file within a bounded time while a dozen such readers wait; nor does
 *    a reader whose environment is mapped from a file that never reads back;
 *  - a CGPROC_MACHINE naming another tenant's cgroup is ignored for an unprivileged reader in its
 *    own cgroup and pid namespaces (it gets its own figures), and honoured for a reader in the
 *    host's namespaces (the control: the setting is in effect at all), and one naming a cgroup
 *    below its own namespace root, in its own view ("/sub"), gets that cgroup's figures;
 *  - a reader in a cgroup namespace that kept the host's cgroup mount gets its own cgroup's
 *    limits from the shim and from cgprocfs, not the host's figures;
 *  - cgprocfs follows only the allowed settings of an AT_SECURE reader: none (its CGPROC_ENABLED
 *    is ignored, while an ordinary reader's is followed);
 * and `cgproc show --pid` never opens the process's CGPROC_RUNDIR either (the same rule), and the
 * seccomp answer path (tools/cgproc/notif-write.c): a write goes through a handle bound to
 * the notifying process, so a process that got its pid after it died is never written, where a
 * write by pid (process_vm_writev, the control) reaches that process.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgproc.h"
#include "harness.h"
#include "notif-write.h"
#include "probe-run.h"

static struct cgdirs cg, cg2, sub;
static char tmp[256];

static void setup(void)
{
	harness_require_root();
	testcg_sweep();
	cr_assert_eq(testcg_create(&cg), 0);
	cr_assert_eq(testcg_limit_default(&cg), 0);
	snprintf(tmp, sizeof(tmp), "/tmp/cgproc-callerin-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	cr_assert_eq(chmod(tmp, 0755), 0);
}

static void teardown(void)
{
	char cmd[512];

	testcg_destroy(&sub); /* inside cg: first */
	testcg_destroy(&cg);
	testcg_destroy(&cg2);
	if (tmp[0]) {
		/* -xdev: a mount left behind (none should be: they live in the child's namespace)
		 * is not descended into */
		snprintf(cmd, sizeof(cmd),
			 "find '%s' -xdev -delete 2>/dev/null; rmdir '%s' 2>/dev/null", tmp, tmp);
		(void)system(cmd);
		tmp[0] = 0;
	}
}

TestSuite(caller_input, .init = setup, .fini = teardown, .timeout = 300);

#ifdef HAVE_CGPROCFS
/* The script's head: cgprocfs at $M (not holding fd 7), readers helpers; its tail in FS_END. */
#define FS_BEGIN                                                                                   \
	"M=$(mktemp -d /tmp/cgproc-callerin-fs-XXXXXX)\n"                                          \
	"\"$CGPROCFS\" \"$M\" >/dev/null 2>&1 7>&- &\n"                                            \
	"P=$!\n"                                                                                   \
	"i=0; while [ ! -e \"$M/proc/meminfo\" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); "   \
	"done\n"                                                                                   \
	"nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups \"$@\"; }\n"
#define FS_END                                                                                     \
	"exec 7>&-\n"                                                                              \
	"kill $P 2>/dev/null; wait $P 2>/dev/null\n"                                               \
	"umount \"$M\" 2>/dev/null || umount -l \"$M\"; rmdir \"$M\"\n"

static int private_ns(void *arg)
{
	return ns_private();
}

static char *run_script(const char *body, struct cgdirs *in, char *const extra_env[],
			int (*setup_fn)(void *), void *arg)
{
	char cgprocfs[4200], *script, *out;
	char *args[] = {"-c", NULL, NULL};
	char *env[8] = {cgprocfs};
	struct probe_opts o = {.cg = in,
			       .setup = setup_fn ? setup_fn : private_ns,
			       .arg = arg,
			       .env = env,
			       .program = "/bin/sh"};
	int st;

	harness_require(access("/dev/fuse", R_OK) == 0, "no /dev/fuse");
	snprintf(cgprocfs, sizeof(cgprocfs), "CGPROCFS=%s", build_path("tools/cgprocfs/cgprocfs"));
	for (int i = 0; extra_env && extra_env[i] && i < 6; i++)
		env[i + 1] = extra_env[i];
	cr_assert_gt(asprintf(&script, "%s%s%s", FS_BEGIN, body, FS_END), 0);
	args[1] = script;
	st = probe_run(&o, args, &out);
	cr_assert_eq(st, 0, "script failed (status %d):\n%s", st, out);
	free(script);
	return out;
}

#endif /* HAVE_CGPROCFS */

/* ---- a reader's CGPROC_RUNDIR is never opened ---------------------------------------------- */

/* A reader's run directory @dir (under tmp) whose "table" is a symlink to a secret file watched
 * with inotify for opens; returns the inotify fd. */
static int rundir_watched(char *dir, size_t size, char *target, size_t target_size)
{
	char link[400];
	int in;

	snprintf(dir, size, "%s/rundir", tmp);
	snprintf(target, target_size, "%s/secret", tmp);
	snprintf(link, sizeof(link), "%s/table", dir);
	cr_assert_eq(mkdir(dir, 0755), 0);
	cr_assert_eq(write_text(target, "root:*:20228:0:99999:7:::\n", 26), 0);
	cr_assert_eq(chmod(target, 0600), 0);
	cr_assert_eq(symlink(target, link), 0);
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	cr_assert_geq(in, 0);
	cr_assert_geq(inotify_add_watch(in, target, IN_OPEN | IN_ACCESS), 0);
	return in;
}

/* No open of @target was seen on @in; then, as the control, one is. Closes @in. */
static void assert_never_opened(int in, const char *target)
{
	char buf[4096];
	ssize_t n = read(in, buf, sizeof(buf));

	cr_assert_lt(n, 0, "the target was opened: %zd bytes of inotify events", n);
	cr_assert_eq(errno, EAGAIN);
	close(open(target, O_RDONLY | O_CLOEXEC));
	n = read(in, buf, sizeof(buf));
	cr_assert_gt(n, 0, "the watch sees no open at all");
	close(in);
}

Test(caller_input, show_never_opens_caller_rundir)
{
	char dir[300], target[300], pid_s[32], *out = NULL;
	char *argv[] = {
		(char *)build_path("tools/cgproc"), "show", "--pid", pid_s, "meminfo", NULL};
	int in = rundir_watched(dir, sizeof(dir), target, sizeof(target)), st;
	pid_t pid = harness_fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setenv("CGPROC_RUNDIR", dir, 1);
		execlp("sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	/* its environment is in place once it runs sleep */
	for (int i = 0; i < 200; i++) {
		char exe[64], link[256];
		ssize_t n;

		snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
		n = readlink(exe, link, sizeof(link) - 1);
		if (n > 0 && (link[n] = 0, strstr(link, "sleep")))
			break;
		usleep(10000);
	}
	snprintf(pid_s, sizeof(pid_s), "%d", (int)pid);
	st = harness_run(argv, NULL, &out, NULL);
	harness_kill(pid);
	cr_assert_eq(st, 0, "%s", out);
	cr_assert_not_null(strstr(out, "MemTotal:"), "%s", out);
	assert_never_opened(in, target);
	free(out);
}

#ifdef HAVE_CGPROCFS
Test(caller_input, cgprocfs_never_opens_caller_rundir)
{
	char dir[300], target[300], envd[400];
	char *env[] = {envd, NULL};
	int in = rundir_watched(dir, sizeof(dir), target, sizeof(target));
	char *out;

	snprintf(envd, sizeof(envd), "D=%s", dir);
	/* Two reads a sampler recheck apart (callers.c looks at the table again after 250 ms), as
	 * nobody and as root. */
	out = run_script("for i in 1 2; do\n"
			 "  CGPROC_RUNDIR=\"$D\" nobody head -n1 \"$M/proc/meminfo\"\n"
			 "  CGPROC_RUNDIR=\"$D\" head -n1 \"$M/proc/meminfo\"\n"
			 "  sleep 0.3\n"
			 "done\n",
			 &cg, env, NULL, NULL);
	cr_log_info("THREAT cgprocfs, readers with CGPROC_RUNDIR=%s (table -> a watched file): %s",
		    dir, out);
	cr_assert_not_null(strstr(out, "MemTotal:"), "the readers got no file: %s", out);
	assert_never_opened(in, target);
	free(out);
}

/* ---- a hanging path stalls nobody ---------------------------------------------------------- */

/* In the script's child: a FUSE mount at @arg whose server never answers (nobody reads the
 * /dev/fuse fd, held at fd 7 by the script only: closing it there ends the connection). */
static int hang_setup(void *arg)
{
	char opts[128];
	int fd, r = ns_private();

	if (r < 0)
		return r;
	fd = open("/dev/fuse", O_RDWR);
	if (fd < 0)
		return -errno;
	if (dup2(fd, 7) < 0)
		return -errno;
	if (fd != 7)
		close(fd);
	snprintf(opts, sizeof(opts), "fd=7,rootmode=40000,user_id=0,group_id=0,allow_other");
	if (mount("cgproc-hang", arg, "fuse", MS_NOSUID | MS_NODEV, opts) < 0)
		return -errno;
	return 0;
}

/* Twelve readers running @attacker (a command line reading $M/proc/meminfo; cgprocfs has ten
 * workers), then an innocent reader that must get its file within 5 s; @after ends what holds the
 * attackers. Under @setup_fn(@arg) (see run_script). */
static void innocent_not_stalled(const char *attacker, const char *after, char *const env[],
				 int (*setup_fn)(void *), void *arg, const char *what)
{
	char *body, *out, *ms;

	cr_assert_gt(asprintf(&body,
			      "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do\n"
			      "  %s >/dev/null 2>&1 7>&- &\n"
			      "  A=\"$A $!\"\n"
			      "done\n"
			      "sleep 1\n"
			      "S=$(date +%%s%%N)\n"
			      "timeout -s KILL 5 head -n1 \"$M/proc/meminfo\" 7>&-\n"
			      "echo \"== innocent rc=$? ms=$((($(date +%%s%%N) - S) / 1000000))\"\n"
			      "%s\n"
			      "wait $A\n",
			      attacker, after),
		     0);
	out = run_script(body, &cg, env, setup_fn, arg);
	cr_log_info("THREAT cgprocfs, 12 readers %s, then an innocent reader: %s", what, out);
	ms = strstr(out, "== innocent");
	cr_assert_not_null(ms, "%s", out);
	cr_assert_not_null(strstr(ms, "rc=0 "), "the innocent reader was stalled: %s", out);
	cr_assert_not_null(strstr(out, "MemTotal:"), "%s", out);
	free(body);
	free(out);
}

Test(caller_input, cgprocfs_hanging_rundir_stalls_nobody, .timeout = 120)
{
	char hang[300], envh[400];
	char *env[] = {envh, NULL};

	snprintf(hang, sizeof(hang), "%s/hang", tmp);
	cr_assert_eq(mkdir(hang, 0755), 0);
	snprintf(envh, sizeof(envh), "H=%s", hang);
	innocent_not_stalled("CGPROC_RUNDIR=\"$H\" nobody timeout -s KILL 30 cat "
			     "\"$M/proc/meminfo\"",
			     "exec 7>&-", env, hang_setup, hang,
			     "with CGPROC_RUNDIR on a FUSE mount that never answers");
}

/* ---- a caller whose environment never reads back stalls nobody ---------------------------- */

static void fuse_reply(int fd, uint64_t unique, int error, const void *arg, size_t size)
{
	struct fuse_out_header h = {
		.len = (uint32_t)(sizeof(h) + size), .error = error, .unique = unique};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)arg, size}};

	(void)writev(fd, iov, arg ? 2 : 1);
}

static void fuse_attr_of(uint64_t node, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = node;
	a->mode = node == FUSE_ROOT_ID ? S_IFDIR | 0755 : S_IFREG | 0444;
	a->nlink = node == FUSE_ROOT_ID ? 2 : 1;
	a->size = node == FUSE_ROOT_ID ? 0 : 65536;
	a->blocks = a->size / 512;
	a->blksize = 4096;
}

/* A FUSE server with one file "f" that answers everything but READ: a page of "f" mapped into
 * a process never becomes readable. Runs until the connection ends. */
static void noread_serve(int fd)
{
	static char buf[FUSE_MIN_READ_BUFFER + 65536];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		struct fuse_in_header *in = (struct fuse_in_header *)buf;

		if (n < 0 && (errno == EINTR || errno == ENOENT))
			continue;
		if (n < (ssize_t)sizeof(*in))
			_exit(0);
		switch (in->opcode) {
		case FUSE_INIT: {
			struct fuse_init_out o = {.major = FUSE_KERNEL_VERSION,
						  .minor = FUSE_KERNEL_MINOR_VERSION,
						  .max_readahead = 4096,
						  .max_background = 16,
						  .congestion_threshold = 12,
						  .max_write = 4096,
						  .time_gran = 1};

			fuse_reply(fd, in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_LOOKUP: {
			struct fuse_entry_out o = {.nodeid = 2, .generation = 1};

			if (strcmp((char *)(in + 1), "f") != 0) {
				fuse_reply(fd, in->unique, -ENOENT, NULL, 0);
				break;
			}
			fuse_attr_of(2, &o.attr);
			fuse_reply(fd, in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_GETATTR: {
			struct fuse_attr_out o = {0};

			fuse_attr_of(in->nodeid, &o.attr);
			fuse_reply(fd, in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_OPEN: {
			struct fuse_open_out o = {.fh = 1};

			fuse_reply(fd, in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_READ: /* never */
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
		case FUSE_INTERRUPT:
			break;
		case FUSE_FLUSH:
		case FUSE_RELEASE:
			fuse_reply(fd, in->unique, 0, NULL, 0);
			break;
		default:
			fuse_reply(fd, in->unique, -ENOSYS, NULL, 0);
		}
	}
}

/* In the script's child: noread_serve() on a FUSE mount at @arg, its pid in $NOREAD (the only
 * holder of the connection: killing it ends every request). */
static int noread_setup(void *arg)
{
	char opts[128], pid_s[32];
	int fd, r = ns_private();
	pid_t pid;

	if (r < 0)
		return r;
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fd);
	if (mount("cgproc-noread", arg, "fuse", MS_NOSUID | MS_NODEV, opts) < 0)
		return -errno;
	pid = harness_fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		noread_serve(fd);
		_exit(0);
	}
	close(fd);
	snprintf(pid_s, sizeof(pid_s), "%d", (int)pid);
	setenv("NOREAD", pid_s, 1);
	return 0;
}

Test(caller_input, cgprocfs_unreadable_environ_stalls_nobody, .timeout = 120)
{
	char dir[300], envn[400], envp[600];
	char *env[] = {envn, envp, NULL};

	snprintf(dir, sizeof(dir), "%s/noread", tmp);
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(envn, sizeof(envn), "N=%s", dir);
	snprintf(envp, sizeof(envp), "PROBE=%s", build_path("tests/client/cgproc-probe"));
	/* Their environment is a page of "f", which never reads back. The kernel reads
	 * proc/<pid>/environ from anonymous memory only (FOLL_ANON, Linux 4.17): such a reader
	 * gets its file, and so does the innocent one. */
	innocent_not_stalled("timeout -s KILL 30 \"$PROBE\" \"envmap:$N/f:$M/proc/meminfo\"",
			     "kill -9 $NOREAD", env, noread_setup, dir,
			     "whose environment is mapped from a file that never reads back");
}

/* Whether @text holds @want, or, for "!text", does not. */
static bool holds(const char *text, const char *want)
{
	return want[0] == '!' ? strstr(text, want + 1) == NULL : strstr(text, want) != NULL;
}

/* Two readers, a probe and its control, each printing the first line of $M/proc/meminfo with
 * ${HEAD:-head}: "@probe head..." after "== A", "@control head..." after "== B" (each may set
 * HEAD first). The probe's output must hold @want_a, the control's @want_b (see holds()). */
static void two_readers(const char *probe, const char *control, char *const env[], const char *what,
			const char *want_a, const char *want_b)
{
	char *body, *out, *a, *b;

	cr_assert_gt(asprintf(&body,
			      "echo '== A'\n%s \"${HEAD:-head}\" -n1 \"$M/proc/meminfo\" 7>&-\n"
			      "echo '== B'\n%s \"${HEAD:-head}\" -n1 \"$M/proc/meminfo\" 7>&-\n"
			      "echo '== end'\n",
			      probe, control),
		     0);
	out = run_script(body, &cg, env, NULL, NULL);
	a = probe_section(out, "A", 0);
	b = probe_section(out, "B", 0);
	cr_log_info("THREAT cgprocfs, %s: [%s]; the control: [%s]", what, a, b);
	cr_assert(a && b, "%s", out);
	cr_assert(holds(a, want_a), "%s: the reader got %s", what, a);
	cr_assert(holds(b, want_b), "%s: the control got %s", what, b);
	free(a);
	free(b);
	free(body);
	free(out);
}

/* A memory limit on @c (v1 or v2 file). */
static void memory_limit(struct cgdirs *c, const char *bytes)
{
	if (testcg_write(c, "memory.limit_in_bytes", bytes) == -ENOENT)
		cr_assert_eq(testcg_write(c, "memory.max", bytes), 0);
}

/* ---- a foreign machine is refused ---------------------------------------------------------- */

Test(caller_input, cgprocfs_refuses_foreign_machine)
{
	char envm[200];
	char *env[] = {envm, NULL};

	cr_assert_eq(testcg_create(&cg2), 0);
	cr_assert_eq(testcg_limit_default(&cg2), 0);
	memory_limit(&cg2, "268435456");
	/* cg2's path in every hierarchy: "/<name>". The script runs in cg (512 MiB), cg2 is the
	 * other tenant (256 MiB); the control, in the host's namespaces, may name it. */
	snprintf(envm, sizeof(envm), "OTHER=/%s", cg2.name);
	two_readers("CGPROC_MACHINE=\"$OTHER\" unshare --cgroup --pid --fork --kill-child "
		    "setpriv --reuid=65534 --regid=65534 --clear-groups",
		    "CGPROC_MACHINE=\"$OTHER\"", env,
		    "CGPROC_MACHINE=<another cgroup> from a reader in its own cgroup and pid "
		    "namespaces",
		    " 524288 kB", " 262144 kB");
}

/* A reader in its own cgroup, mount and pid namespaces with a cgroup mount of its own in place of
 * the inherited one (rooted at its namespace root, cg, as a container's): cgroup2 on a pure v2
 * host, the v1 memory hierarchy elsewhere; then the command after it. */
#define NS_OWN_MEMORY                                                                              \
	"unshare --cgroup --mount --pid --fork --kill-child sh -c 'v2=0; "                         \
	"[ -e /sys/fs/cgroup/cgroup.controllers ] && v2=1; umount -l /sys/fs/cgroup && "           \
	"if [ $v2 = 1 ]; then mount -t cgroup2 cgproc-test /sys/fs/cgroup; else "                  \
	"mount -t tmpfs cgproc-test /sys/fs/cgroup && mkdir /sys/fs/cgroup/memory && "             \
	"mount -t cgroup -o memory cgproc-test /sys/fs/cgroup/memory; fi && exec \"$@\"' sh "

Test(caller_input, cgprocfs_honours_machine_beneath_own_root)
{
	char name[128];

	snprintf(name, sizeof(name), "%s/sub", cg.name);
	cr_assert_eq(cgdirs_create(&sub, name), 0);
	cr_assert_eq(testcg_limit_default(&sub), 0);
	memory_limit(&sub, "134217728");
	/* "/sub" as the reader sees its cgroups is cg/sub on the host (128 MiB); without the
	 * setting its machine is its namespace root, cg (512 MiB) */
	two_readers(
		NS_OWN_MEMORY "env CGPROC_MACHINE=/sub setpriv --reuid=65534 --regid=65534 "
			      "--clear-groups",
		NS_OWN_MEMORY "setpriv --reuid=65534 --regid=65534 --clear-groups", NULL,
		"CGPROC_MACHINE=/sub from a reader in its own namespaces with its own cgroup mount",
		" 131072 kB", " 524288 kB");
}

/* ---- a cgroup namespace that kept the host's cgroup mount ---------------------------------- */

/* After `unshare --cgroup` without a cgroup mount of its own, a reader's mounts have their root
 * above its namespace root ("/.." in its mountinfo) and its /proc/self/cgroup says "/": the shim
 * in the reader and cgprocfs on the host both serve the limits of its cgroup (cg, 512 MiB), not
 * the host's memory. */
Test(caller_input, namespace_keeping_host_mount_sees_own_limits)
{
	char shim[4200];
	char *env[] = {shim, NULL};
	char *out, *a, *b, *root;

	snprintf(shim, sizeof(shim), "SHIM=%s", build_path("preload/libcgproc.so"));
	out = run_script("echo '== root'\n"
			 "unshare --cgroup sh -c 'grep \" - cgroup\" /proc/self/mountinfo | "
			 "cut -d\" \" -f4' 7>&-\n"
			 "echo '== A'\n"
			 "unshare --cgroup env LD_PRELOAD=\"$SHIM\" head -n1 /proc/meminfo 7>&-\n"
			 "echo '== B'\n"
			 "unshare --cgroup head -n1 \"$M/proc/meminfo\" 7>&-\n"
			 "echo '== end'\n",
			 &cg, env, NULL, NULL);
	root = probe_section(out, "root", 0);
	a = probe_section(out, "A", 0);
	b = probe_section(out, "B", 0);
	cr_assert(root && a && b, "%s", out);
	/* the premise: some cgroup mount's root is above the namespace root */
	cr_assert(strstr(root, "/.."), "no kept cgroup mount in:\n%s", root);
	cr_assert(holds(a, " 524288 kB"), "the shim in the namespace got %s", a);
	cr_assert(holds(b, " 524288 kB"), "cgprocfs for a reader in the namespace got %s", b);
	free(root);
	free(a);
	free(b);
	free(out);
}

/* ---- AT_SECURE readers -------------------------------------------------------------------- */

Test(caller_input, cgprocfs_ignores_at_secure_environment)
{
	char prog[400], envp[500], cmd[600];
	char *env[] = {envp, NULL};

	/* A setuid-root copy of head: AT_SECURE when nobody runs it. */
	snprintf(prog, sizeof(prog), "%s/head-setuid", tmp);
	snprintf(cmd, sizeof(cmd), "cp \"$(command -v head)\" '%s'", prog);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(chown(prog, 0, 0), 0);
	cr_assert_eq(chmod(prog, 04755), 0);
	snprintf(envp, sizeof(envp), "HEAD_SETUID=%s", prog);
	/* CGPROC_ENABLED=no is an allowed setting: cgprocfs then serves the host's file. */
	two_readers("HEAD=\"$HEAD_SETUID\"; CGPROC_ENABLED=no nobody",
		    "HEAD=head; CGPROC_ENABLED=no nobody", env,
		    "CGPROC_ENABLED=no from an AT_SECURE reader", " 524288 kB", "! 524288 kB");
}
#endif /* HAVE_CGPROCFS */

/* ---- the seccomp answer goes through a handle bound to the caller ------------------------- */

#if defined(__x86_64__) || defined(__aarch64__)
/* Where both the caller and the process that later gets its pid keep the struct: the same
 * address in every child of this process. */
static struct sysinfo target;
#define PATTERN 0xab

static bool target_untouched(void)
{
	for (size_t i = 0; i < sizeof(target); i++)
		if (((unsigned char *)&target)[i] != PATTERN)
			return false;
	return true;
}

/* In a child: trap sysinfo, send the listener fd's number up @up, call sysinfo(&target) and
 * report through the exit status whether it returned 0 with uptime 4242. */
static void notifying_child(int up)
{
	int fd;

	memset(&target, PATTERN, sizeof(target));
	fd = sysinfo_filter_install(); /* the filter `cgproc run --fuse` installs */
	if (fd < 0)
		_exit(11);
	if (write(up, &fd, sizeof(int)) != sizeof(int))
		_exit(12);
	if (syscall(__NR_sysinfo, &target) != 0)
		_exit(13);
	_exit(target.uptime == 4242 ? 0 : 14);
}

/* Fork a notifying child; its listener fd (taken with pidfd_getfd) in *@ret_fd and its first
 * notification in @req. */
static pid_t notifying_start(int *ret_fd, struct seccomp_notif *req)
{
	int pipefd[2], num, pidfd;
	pid_t pid;

	cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	pid = harness_fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(pipefd[0]);
		notifying_child(pipefd[1]);
	}
	close(pipefd[1]);
	cr_assert_eq(read(pipefd[0], &num, sizeof(num)), (ssize_t)sizeof(num));
	close(pipefd[0]);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	cr_assert_geq(pidfd, 0);
	*ret_fd = (int)syscall(SYS_pidfd_getfd, pidfd, num, 0);
	cr_assert_geq(*ret_fd, 0, "pidfd_getfd: %s", strerror(errno));
	close(pidfd);
	memset(req, 0, sizeof(*req));
	cr_assert_eq(ioctl(*ret_fd, SECCOMP_IOCTL_NOTIF_RECV, req), 0, "%s", strerror(errno));
	cr_assert_eq((pid_t)req->pid, pid);
	cr_assert_eq(req->data.args[0], (uint64_t)(uintptr_t)&target);
	return pid;
}

Test(caller_input, notif_write_answers_the_caller)
{
	struct sysinfo answer = {.uptime = 4242};
	struct seccomp_notif req;
	struct seccomp_notif_resp resp = {0};
	int nfd, st;
	pid_t pid = notifying_start(&nfd, &req);

	/* an address the caller has not mapped: refused as the kernel would */
	cr_assert_eq(notif_write(nfd, req.id, (pid_t)req.pid, 8, &answer, sizeof(answer)), -EFAULT);
	cr_assert_eq(
		notif_write(nfd, req.id, (pid_t)req.pid, req.data.args[0], &answer, sizeof(answer)),
		0);
	resp.id = req.id;
	cr_assert_eq(ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, &resp), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the caller saw no answer: status %d", st);
	close(nfd);
}

/* A process with exactly @pid (clone3 set_tid; root): keeps target as PATTERN and, for each byte
 * read from @down, reports on @up whether target is still untouched. */
static pid_t reuse_pid(pid_t pid, int down, int up, int parent_down)
{
	struct clone_args args = {.exit_signal = SIGCHLD};
	pid_t set = pid;
	long r;

	args.set_tid = (uint64_t)(uintptr_t)&set;
	args.set_tid_size = 1;
	r = syscall(SYS_clone3, &args, sizeof(args));
	if (r == 0) {
		char c;

		close(parent_down); /* EOF on @down once the test closes its end */
		memset(&target, PATTERN, sizeof(target));
		if (write(up, "r", 1) != 1)
			_exit(1);
		while (read(down, &c, 1) == 1) {
			c = target_untouched() ? 'u' : 'w';
			if (write(up, &c, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	return (pid_t)r;
}

static char reused_state(int down, int up)
{
	char c = '?';

	cr_assert_eq(write(down, "?", 1), 1);
	cr_assert_eq(read(up, &c, 1), 1);
	return c;
}

Test(caller_input, notif_write_never_reaches_a_reused_pid)
{
	struct sysinfo answer = {.uptime = 4242};
	struct iovec local = {.iov_base = &answer, .iov_len = sizeof(answer)};
	struct iovec remote = {.iov_len = sizeof(answer)};
	struct seccomp_notif req;
	int nfd, mem, st, down[2], up[2];
	pid_t pid = notifying_start(&nfd, &req), other;
	char c;

	remote.iov_base = (void *)(uintptr_t)req.data.args[0];
	/* steps 1-2 while the caller waits: a handle bound to it */
	mem = notif_mem_open(nfd, req.id, (pid_t)req.pid);
	cr_assert_geq(mem, 0, "%s", strerror(-mem));
	/* the caller dies; a new process gets its pid and keeps a struct at the same address */
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_eq(pipe2(down, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(up, O_CLOEXEC), 0);
	other = reuse_pid(pid, down[0], up[1], down[1]);
	cr_assert_eq(other, pid, "clone3 set_tid %d: %s", (int)pid, strerror(errno));
	cr_assert_eq(read(up[0], &c, 1), 1);

	/* through the handle: refused, and the new process is untouched */
	cr_assert_eq(notif_mem_write(nfd, req.id, mem, req.data.args[0], &answer, sizeof(answer)),
		     -ENOENT);
	cr_assert_eq(reused_state(down[1], up[0]), 'u');
	/* the whole sequence by pid now: the handle opened is the new process's, the id check
	 * refuses it before any write */
	cr_assert_eq(notif_write(nfd, req.id, pid, req.data.args[0], &answer, sizeof(answer)),
		     -ENOENT);
	cr_assert_eq(reused_state(down[1], up[0]), 'u');
	/* Control: a write by pid, as a listener that checked the id a moment earlier would make,
	 * lands in the new process. */
	cr_assert_eq(process_vm_writev(pid, &local, 1, &remote, 1, 0), (ssize_t)sizeof(answer));
	cr_assert_eq(reused_state(down[1], up[0]), 'w');
	cr_log_info("THREAT seccomp answer: caller %d killed, pid reused: the handle refused the "
		    "write, a write by pid reached the new process",
		    (int)pid);

	close(down[1]);
	cr_assert_eq(waitpid(other, &st, 0), other);
	close(down[0]);
	close(up[0]);
	close(up[1]);
	close(mem);
	close(nfd);
}
#endif /* sysinfo_filter_install() has a filter for this architecture */

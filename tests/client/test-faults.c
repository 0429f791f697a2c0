/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fault injection against the preload shim with real processes (suite client). Each case runs
 * cgproc-probe in a 512 MiB test cgroup, with and without the shim, in the same prepared
 * environment, and checks what the caller saw: the shim either serves a sane virtual file or
 * exactly what the real call gives (same fd, same errno, errno untouched on success), never
 * crashes, hangs or leaks a descriptor.
 *
 * The environment is broken in a private mount namespace of the child (it dies with the child,
 * so nothing outlives the test): a tmpfs with crafted files over the memory hierarchy (copied
 * from the real cgroup, then one file spoiled), an empty tmpfs over /proc, garbage bind-mounted
 * over /proc/<pid>/cgroup or mountinfo; or by a seccomp filter (libseccomp) that denies
 * openat2; or by RLIMIT_NOFILE. (memfd_create denied: tests/client/test-shim-fault.c.)
 *
 * Every case logs one "FAULT name: ..." line (criterion info) with what the caller saw.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "probe-run.h"

#define SENTINEL 4242
#define LIMIT_KB (512LL * 1024)

static struct cgdirs cg;

static void setup(void)
{
	probe_cg_setup(&cg);
}

static void teardown(void)
{
	testcg_destroy(&cg);
}

/* Index of the hierarchy of @cg whose cgroup directory has memory.stat, or -1. */
static int memory_hier(const struct cgdirs *g)
{
	for (int i = 0; i < g->n; i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/memory.stat", g->dir[i]);
		if (access(path, R_OK) == 0)
			return i;
	}
	return -1;
}

/* ---- crafted memory hierarchy ---------------------------------------------------------- */

enum craft_kind {
	CRAFT_CONTROL,	     /* faithful copy: the shim must serve the 512 MiB machine */
	CRAFT_EMPTY,	     /* nothing: the cgroup directory does not exist */
	CRAFT_STAT_GARBAGE,  /* memory.stat is binary garbage */
	CRAFT_LIMIT_GARBAGE, /* the limit file says "banana" */
	CRAFT_LIMIT_HUGE,    /* the limit overflows 64 bits */
	CRAFT_STAT_DIR,	     /* memory.stat is a directory */
	CRAFT_STAT_HUGE,     /* memory.stat is 32 MiB of plausible lines */
	CRAFT_STAT_ZERO,     /* memory.stat is a symlink to /dev/zero (endless) */
	CRAFT_STAT_FIFO,     /* memory.stat is a FIFO nobody writes to */
	CRAFT_USAGE_OVER,    /* usage is twice the limit */
	CRAFT_NO_STAT,	     /* memory.stat missing, the rest there */
};

struct craft {
	enum craft_kind kind;
	char mount[512]; /* hierarchy mount point */
	char name[128];	 /* cgroup directory name */
};

struct saved_file {
	char name[128];
	char *data;
	size_t len;
};

/* Read every readable regular file of @dir into @files. */
static int save_dir(const char *dir, struct saved_file *files, int max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < max) {
		char path[1024], *buf;
		ssize_t len;
		int fd;

		if (de->d_type != DT_REG)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		buf = malloc(1 << 20);
		len = read(fd, buf, (1 << 20) - 1);
		close(fd);
		if (len < 0) {
			free(buf);
			continue;
		}
		snprintf(files[n].name, sizeof(files[n].name), "%s", de->d_name);
		files[n].data = buf;
		files[n].len = (size_t)len;
		n++;
	}
	closedir(d);
	return n;
}

static int restore_dir(const char *dir, const struct saved_file *files, int n)
{
	for (int i = 0; i < n; i++) {
		char path[1024];
		int r;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		r = write_text(path, files[i].data, files[i].len);
		if (r < 0)
			return r;
	}
	return 0;
}

static const char *limit_file(const char *dir)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", dir);
	return access(path, F_OK) == 0 ? "memory.limit_in_bytes" : "memory.max";
}

static const char *usage_file(const char *dir)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/memory.usage_in_bytes", dir);
	return access(path, F_OK) == 0 ? "memory.usage_in_bytes" : "memory.current";
}

static int craft_setup(void *arg)
{
	static struct saved_file root[128], own[128];
	const struct craft *c = arg;
	char dir[1024], path[1100];
	const char *lim, *use;
	int nroot, nown, r;

	if (c->kind == CRAFT_EMPTY) {
		r = ns_private();
		if (r == 0 && mount("cgproc-fault", c->mount, "tmpfs", 0, "mode=0755") < 0)
			r = -errno;
		return r;
	}
	snprintf(dir, sizeof(dir), "%s/%s", c->mount, c->name);
	lim = limit_file(dir);
	use = usage_file(dir);
	nroot = save_dir(c->mount, root, 128);
	nown = save_dir(dir, own, 128);
	if (nroot < 0 || nown < 0)
		return nroot < 0 ? nroot : nown;
	r = ns_private();
	if (r < 0)
		return r;
	if (mount("cgproc-fault", c->mount, "tmpfs", 0, "mode=0755") < 0)
		return -errno;
	if (mkdir(dir, 0755) < 0)
		return -errno;
	r = restore_dir(c->mount, root, nroot);
	if (r == 0)
		r = restore_dir(dir, own, nown);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/memory.stat", dir);
	switch (c->kind) {
	case CRAFT_STAT_GARBAGE: {
		static const char junk[] = "\x01\xff garbage ) ( total_cache -7 cache\n\n\n"
					   "inactive_file 18446744073709551616\nanon\n";
		return write_text(path, junk, sizeof(junk) - 1);
	}
	case CRAFT_LIMIT_GARBAGE:
		snprintf(path, sizeof(path), "%s/%s", dir, lim);
		return write_text(path, "banana\n", 7);
	case CRAFT_LIMIT_HUGE:
		snprintf(path, sizeof(path), "%s/%s", dir, lim);
		return write_text(path, "999999999999999999999999999\n", 28);
	case CRAFT_STAT_DIR:
		unlink(path);
		return mkdir(path, 0755) < 0 ? -errno : 0;
	case CRAFT_STAT_HUGE: {
		size_t len = 32u << 20;
		char *big = malloc(len);
		static const char line[] = "total_cache 4096\n";

		for (size_t i = 0; i + sizeof(line) - 1 <= len; i += sizeof(line) - 1)
			memcpy(big + i, line, sizeof(line) - 1);
		len -= len % (sizeof(line) - 1);
		return write_text(path, big, len);
	}
	case CRAFT_STAT_ZERO:
		unlink(path);
		return symlink("/dev/zero", path) < 0 ? -errno : 0;
	case CRAFT_STAT_FIFO:
		unlink(path);
		return mkfifo(path, 0644) < 0 ? -errno : 0;
	case CRAFT_USAGE_OVER:
		snprintf(path, sizeof(path), "%s/%s", dir, use);
		return write_text(path, "1073741824\n", 11);
	case CRAFT_NO_STAT:
		return unlink(path) < 0 ? -errno : 0;
	default:
		return 0;
	}
}

static char *const meminfo_actions[] = {
	"cat:/proc/meminfo", "rewind:/proc/meminfo", "sysinfo", "sysconf", "fds", NULL,
};

struct seen {
	int status;
	long long fd, err, memtotal, memfree, avail, lseek_err, sysinfo_rc, sysinfo_err;
	long long totalram, fds;
	char *keys;
	char *out;
};

static void seen_parse(struct seen *s, int status, char *out)
{
	char *text = probe_section(out, "cat /proc/meminfo", 0);

	s->status = status;
	s->out = out;
	s->fd = probe_field(out, "cat /proc/meminfo", 0, "fd");
	s->err = probe_field(out, "cat /proc/meminfo", 0, "errno");
	s->memtotal = text ? text_kb(text, "MemTotal") : -1;
	s->memfree = text ? text_kb(text, "MemFree") : -1;
	s->avail = text ? text_kb(text, "MemAvailable") : -1;
	s->keys = text ? text_keys(text) : strdup("");
	s->lseek_err = probe_field(out, "lseek", 0, "errno");
	s->sysinfo_rc = probe_field(out, "sysinfo", 0, "rc");
	s->sysinfo_err = probe_field(out, "sysinfo", 0, "errno");
	s->totalram = probe_field(out, "sysinfo", 0, "totalram");
	s->fds = probe_field(out, "fds", 0, "");
	{
		const char *f = strstr(out, "== fds ");

		s->fds = f ? atoll(f + 7) : -1;
	}
	free(text);
}

/* Run the meminfo actions with and without the shim under @setup and check the rules. */
static void fault_case(const char *name, int (*fn)(void *), void *arg, bool may_virtualize)
{
	struct probe_opts o = {.cg = &cg, .setup = fn, .arg = arg};
	struct seen real, shim;
	long long host = host_memtotal_kb();
	char *out;
	int st;

	st = probe_run(&o, meminfo_actions, &out);
	seen_parse(&real, st, out);
	o.shim = true;
	st = probe_run(&o, meminfo_actions, &out);
	seen_parse(&shim, st, out);

	cr_log_info("FAULT %s: shim exit=%d fd=%lld errno=%lld MemTotal=%lld kB (host %lld, limit "
		    "%lld) MemFree=%lld; sysinfo rc=%lld errno=%lld totalram=%lld; fds %lld (real "
		    "%lld)",
		    name, shim.status, shim.fd, shim.err, shim.memtotal, host, LIMIT_KB,
		    shim.memfree, shim.sysinfo_rc, shim.sysinfo_err, shim.totalram, shim.fds,
		    real.fds);

	cr_assert(WIFEXITED(real.status) && WEXITSTATUS(real.status) == 0,
		  "%s: the probe without the shim failed (%d):\n%s", name, real.status, real.out);
	cr_assert(WIFEXITED(shim.status) && WEXITSTATUS(shim.status) == 0,
		  "%s: the probe with the shim crashed or hung (%d):\n%s", name, shim.status,
		  shim.out);
	cr_assert_eq(shim.fd, real.fd, "%s: fd %lld vs real %lld", name, shim.fd, real.fd);
	cr_assert_eq(shim.err, SENTINEL, "%s: errno changed on success: %lld", name, shim.err);
	cr_assert_eq(shim.lseek_err, SENTINEL, "%s: lseek changed errno: %lld", name,
		     shim.lseek_err);
	cr_assert_eq(shim.sysinfo_rc, 0, "%s", name);
	cr_assert_eq(shim.sysinfo_err, SENTINEL, "%s: sysinfo changed errno", name);
	cr_assert_str_eq(shim.keys, real.keys, "%s: meminfo fields differ from the real file",
			 name);
	cr_assert_eq(shim.fds, real.fds, "%s: descriptor leak (%lld open vs %lld)", name, shim.fds,
		     real.fds);
	cr_assert_eq(real.memtotal, host, "%s", name);
	if (may_virtualize)
		cr_assert(shim.memtotal == host || shim.memtotal == LIMIT_KB,
			  "%s: MemTotal %lld is neither the host's nor the limit", name,
			  shim.memtotal);
	else
		cr_assert_eq(shim.memtotal, host, "%s: expected the real file, MemTotal %lld", name,
			     shim.memtotal);
	cr_assert(shim.memfree >= 0 && shim.memfree <= shim.memtotal, "%s: MemFree %lld", name,
		  shim.memfree);
	cr_assert(shim.avail >= 0 && shim.avail <= shim.memtotal, "%s: MemAvailable %lld", name,
		  shim.avail);
	cr_assert(shim.totalram > 0 && shim.totalram <= host * 1024, "%s: sysinfo totalram %lld",
		  name, shim.totalram);
	free(real.out);
	free(real.keys);
	free(shim.out);
	free(shim.keys);
}

static void craft_case(const char *name, enum craft_kind kind, bool may_virtualize)
{
	struct craft c = {.kind = kind};
	int h = memory_hier(&cg);
	char *slash;

	harness_require(h >= 0, "no memory controller");
	snprintf(c.mount, sizeof(c.mount), "%s", cg.dir[h]);
	slash = strrchr(c.mount, '/');
	cr_assert_not_null(slash);
	*slash = 0;
	snprintf(c.name, sizeof(c.name), "%s", cg.name);
	fault_case(name, craft_setup, &c, may_virtualize);
}

TestSuite(faults, .init = setup, .fini = teardown, .timeout = 240);

/* The control: a faithful copy of the hierarchy is served virtually (the crafted tree is what the
 * shim reads; otherwise the other cases would prove nothing). */
Test(faults, crafted_control)
{
	struct craft c = {.kind = CRAFT_CONTROL};
	struct probe_opts o = {.cg = &cg, .shim = true, .setup = craft_setup, .arg = &c};
	char *out, *text;
	int h = memory_hier(&cg);

	harness_require(h >= 0, "no memory controller");
	snprintf(c.mount, sizeof(c.mount), "%s", cg.dir[h]);
	*strrchr(c.mount, '/') = 0;
	snprintf(c.name, sizeof(c.name), "%s", cg.name);
	cr_assert_eq(probe_run(&o, meminfo_actions, &out), 0, "%s", out);
	text = probe_section(out, "cat /proc/meminfo", 0);
	cr_assert_not_null(text, "%s", out);
	cr_log_info("FAULT control (faithful copy): MemTotal=%lld kB", text_kb(text, "MemTotal"));
	cr_assert_eq(text_kb(text, "MemTotal"), LIMIT_KB, "%s", out);
	free(text);
	free(out);
	fault_case("control", craft_setup, &c, true);
}

Test(faults, cgroup_tree_empty)
{
	craft_case("memory hierarchy empty (tmpfs)", CRAFT_EMPTY, false);
}

Test(faults, memory_stat_garbage)
{
	craft_case("memory.stat garbage", CRAFT_STAT_GARBAGE, true);
}

/* v1 memory.stat carries hierarchical_memory_limit too: the core may still know the limit. */
Test(faults, limit_garbage)
{
	craft_case("limit file says banana", CRAFT_LIMIT_GARBAGE, true);
}

Test(faults, limit_overflow)
{
	craft_case("limit overflows 64 bits", CRAFT_LIMIT_HUGE, true);
}

Test(faults, memory_stat_directory)
{
	craft_case("memory.stat is a directory", CRAFT_STAT_DIR, true);
}

Test(faults, memory_stat_huge)
{
	craft_case("memory.stat 32 MiB", CRAFT_STAT_HUGE, true);
}

Test(faults, memory_stat_endless)
{
	craft_case("memory.stat -> /dev/zero", CRAFT_STAT_ZERO, true);
}

Test(faults, memory_stat_fifo)
{
	craft_case("memory.stat is a FIFO", CRAFT_STAT_FIFO, true);
}

Test(faults, memory_stat_missing)
{
	craft_case("memory.stat missing", CRAFT_NO_STAT, true);
}

Test(faults, usage_over_limit)
{
	craft_case("usage twice the limit", CRAFT_USAGE_OVER, true);
}

/* ---- garbage over /proc/<pid>/cgroup and mountinfo --------------------------------------- */

struct procfile {
	const char *file; /* "cgroup", "mountinfo" */
	const char *text;
};

static int procfile_setup(void *arg)
{
	const struct procfile *pf = arg;
	char tmp[128], target[128];
	int r;

	snprintf(tmp, sizeof(tmp), "/tmp/cgproc-fault-%d", getpid());
	snprintf(target, sizeof(target), "/proc/%d/%s", getpid(), pf->file);
	r = ns_private();
	if (r < 0)
		return r;
	r = write_text(tmp, pf->text, strlen(pf->text));
	if (r < 0)
		return r;
	r = mount(tmp, target, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
	unlink(tmp); /* the mount keeps the inode */
	return r;
}

Test(faults, proc_cgroup_garbage)
{
	struct procfile pf = {"cgroup", "\x7f garbage\n:::\n4:memory\n99:memory:relative/path\n"};

	fault_case("/proc/self/cgroup garbage", procfile_setup, &pf, false);
}

Test(faults, proc_cgroup_long)
{
	static char text[70000];
	struct procfile pf = {"cgroup", text};
	size_t n = (size_t)snprintf(text, sizeof(text), "4:memory:/");

	memset(text + n, 'a', sizeof(text) - n - 2);
	text[sizeof(text) - 2] = '\n';
	fault_case("/proc/self/cgroup 70 kB path", procfile_setup, &pf, false);
}

Test(faults, mountinfo_garbage)
{
	struct procfile pf = {"mountinfo",
			      "garbage - - -\n1 2 3:4 / /sys/fs/cgroup/memory rw - cgroup\n"};

	fault_case("/proc/self/mountinfo garbage", procfile_setup, &pf, false);
}

/* ---- /proc not mounted ------------------------------------------------------------------- */

static int noproc_setup(void *arg)
{
	int r = ns_private();

	if (r < 0)
		return r;
	return mount("cgproc-noproc", "/proc", "tmpfs", 0, "mode=0555") < 0 ? -errno : 0;
}

Test(faults, proc_not_mounted)
{
	char *actions[] = {"cat:/proc/meminfo", "cat:/proc/cpuinfo", "cat:/proc/stat",
			   "sysinfo",		"sysconf",	     NULL};
	struct probe_opts o = {.cg = &cg, .setup = noproc_setup};
	char *real, *shim;
	const char *fields[] = {"rc", "totalram", "mem_unit"}; /* procs is a live count */
	const char *sc[] = {"onln", "conf", "phys", "nprocs", "nprocs_conf"};
	int st;

	st = probe_run(&o, actions, &real);
	cr_assert_eq(st, 0, "%s", real);
	if (getenv("CGPROC_TEST_PRELOAD_FIRST")) {
		/* tools/run-sanitizers: an ASan runtime without /proc cannot read ASAN_OPTIONS
		 * (it takes them from /proc/self/environ) nor stop the world for LeakSanitizer.
		 * The uninstrumented build runs this case. */
		cr_log_info("FAULT /proc not mounted: not run under ASan (needs /proc)");
		free(real);
		return;
	}
	o.shim = true;
	st = probe_run(&o, actions, &shim);
	cr_assert_eq(st, 0, "%s", shim);
	cr_log_info("FAULT /proc not mounted: open(/proc/meminfo) fd=%lld errno=%lld (real %lld); "
		    "sysinfo errno=%lld totalram=%lld (real %lld); nprocs=%lld (real %lld)",
		    probe_field(shim, "cat /proc/meminfo", 0, "fd"),
		    probe_field(shim, "cat /proc/meminfo", 0, "errno"),
		    probe_field(real, "cat /proc/meminfo", 0, "errno"),
		    probe_field(shim, "sysinfo", 0, "errno"),
		    probe_field(shim, "sysinfo", 0, "totalram"),
		    probe_field(real, "sysinfo", 0, "totalram"),
		    probe_field(shim, "sysconf", 0, "nprocs"),
		    probe_field(real, "sysconf", 0, "nprocs"));
	for (int i = 0; i < 3; i++) {
		const char *label[] = {"cat /proc/meminfo", "cat /proc/cpuinfo", "cat /proc/stat"};

		cr_assert_eq(probe_field(shim, label[i], 0, "fd"), -1, "%s", shim);
		cr_assert_eq(probe_field(shim, label[i], 0, "errno"), ENOENT, "%s", shim);
		cr_assert_eq(probe_field(real, label[i], 0, "errno"), ENOENT, "%s", real);
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		cr_assert_eq(probe_field(shim, "sysinfo", 0, fields[i]),
			     probe_field(real, "sysinfo", 0, fields[i]), "sysinfo %s: %s / %s",
			     fields[i], shim, real);
	cr_assert_eq(probe_field(shim, "sysinfo", 0, "errno"), SENTINEL, "%s", shim);
	for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++)
		cr_assert_eq(probe_field(shim, "sysconf", 0, sc[i]),
			     probe_field(real, "sysconf", 0, sc[i]), "sysconf %s: %s / %s", sc[i],
			     shim, real);
	free(real);
	free(shim);
}

/* ---- seccomp: openat2 denied ------------------------------------------------------------- */

/*
 * memfd_create (and O_TMPFILE) denied is tests/client/test-shim-fault.c's. Here: openat2, which
 * the core uses to open cgroup files beneath the root without symlinks, answered the way
 * container seccomp profiles answer syscalls they do not know (EPERM, or ENOSYS as on kernels
 * before 5.6). The core must fall back to openat and still serve the machine.
 */
static int deny_openat2(void *arg)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!ctx)
		return -ENOMEM;
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(*(int *)arg), SCMP_SYS(openat2), 0);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

static void openat2_case(int err)
{
	struct probe_opts o = {.cg = &cg, .shim = true, .setup = deny_openat2, .arg = &err};
	char *out, *text;

	fault_case(err == EPERM ? "openat2 denied (seccomp EPERM)" : "openat2 missing (ENOSYS)",
		   deny_openat2, &err, true);
	cr_assert_eq(probe_run(&o, meminfo_actions, &out), 0, "%s", out);
	text = probe_section(out, "cat /proc/meminfo", 0);
	cr_assert_not_null(text, "%s", out);
	cr_assert_eq(text_kb(text, "MemTotal"), LIMIT_KB, "not served without openat2:\n%s", out);
	free(text);
	free(out);
}

Test(faults, openat2_eperm)
{
	openat2_case(EPERM);
}

Test(faults, openat2_enosys)
{
	openat2_case(ENOSYS);
}

/* ---- RLIMIT_NOFILE ----------------------------------------------------------------------- */

Test(faults, last_descriptor)
{
	char *actions[] = {"lastfd:/proc/meminfo", NULL};
	struct probe_opts o = {.cg = &cg};
	char *real, *shim, *text;
	long long host = host_memtotal_kb();

	cr_assert_eq(probe_run(&o, actions, &real), 0);
	o.shim = true;
	cr_assert_eq(probe_run(&o, actions, &shim), 0, "%s", shim);
	text = probe_section(shim, "lastfd", 0);
	cr_assert_not_null(text, "%s", shim);
	cr_log_info("FAULT RLIMIT_NOFILE leaves one fd: fd=%lld (real %lld) errno=%lld "
		    "MemTotal=%lld kB (host %lld)",
		    probe_field(shim, "lastfd", 0, "fd"), probe_field(real, "lastfd", 0, "fd"),
		    probe_field(shim, "lastfd", 0, "errno"), text_kb(text, "MemTotal"), host);
	cr_assert_geq(probe_field(real, "lastfd", 0, "fd"), 0, "%s", real);
	cr_assert_eq(probe_field(shim, "lastfd", 0, "fd"), probe_field(real, "lastfd", 0, "fd"),
		     "%s", shim);
	cr_assert_eq(probe_field(shim, "lastfd", 0, "errno"), SENTINEL, "%s", shim);
	/* No descriptor left for the shim's own work: the real content. */
	cr_assert_eq(text_kb(text, "MemTotal"), host, "%s", shim);
	free(text);
	free(real);
	free(shim);
}

Test(faults, no_descriptor)
{
	char *actions[] = {"nofd:/proc/meminfo", NULL};
	struct probe_opts o = {.cg = &cg, .shim = true};
	char *shim;

	cr_assert_eq(probe_run(&o, actions, &shim), 0, "%s", shim);
	cr_log_info("FAULT RLIMIT_NOFILE exhausted: fd=%lld errno=%lld",
		    probe_field(shim, "nofd", 0, "fd"), probe_field(shim, "nofd", 0, "errno"));
	cr_assert_eq(probe_field(shim, "nofd", 0, "fd"), -1, "%s", shim);
	cr_assert_eq(probe_field(shim, "nofd", 0, "errno"), EMFILE, "%s", shim);
	free(shim);
}

/* ---- the cgroup vanishes while the process runs ------------------------------------------ */

static void vanish_case(bool wait_ttl)
{
	char *actions[] = {"cat:/proc/meminfo",
			   "wait",
			   "cat:/proc/meminfo",
			   "rewind:/proc/meminfo",
			   "sysinfo",
			   "fds",
			   NULL};
	struct probe_opts o = {.cg = &cg, .shim = true};
	struct probe_proc p;
	char *before, *after, *t1, *t2;
	long long host = host_memtotal_kb();
	int st;

	cr_assert_eq(probe_start(&o, actions, &p), 0);
	cr_assert_eq(probe_until_wait(&p, &before), 0, "%s", before);
	t1 = probe_section(before, "cat /proc/meminfo", 0);
	cr_assert_not_null(t1, "%s", before);
	cr_assert_eq(text_kb(t1, "MemTotal"), LIMIT_KB, "%s", before);
	/* Move the child back to the root and remove its cgroup in every hierarchy. */
	testcg_destroy(&cg);
	/* past the shim's machine cache TTL, or only past its snapshot reuse (reuse_ms, 10 ms:
	 * up to then it may serve the bytes it rendered in the cgroup) */
	usleep(wait_ttl ? 1200 * 1000 : 50 * 1000);
	st = probe_finish(&p, 60, &after);
	cr_assert_eq(st, 0, "%s", after);
	t2 = probe_section(after, "cat /proc/meminfo", 0);
	cr_assert_not_null(t2, "%s", after);
	cr_log_info("FAULT cgroup removed mid-use%s: before MemTotal=%lld, after MemTotal=%lld "
		    "(host %lld) errno=%lld sysinfo errno=%lld",
		    wait_ttl ? " (after cache TTL)" : " (cache still fresh)",
		    text_kb(t1, "MemTotal"), text_kb(t2, "MemTotal"), host,
		    probe_field(after, "cat /proc/meminfo", 0, "errno"),
		    probe_field(after, "sysinfo", 0, "errno"));
	cr_assert_eq(probe_field(after, "cat /proc/meminfo", 0, "errno"), SENTINEL, "%s", after);
	cr_assert_eq(probe_field(after, "sysinfo", 0, "errno"), SENTINEL, "%s", after);
	cr_assert_eq(probe_field(after, "sysinfo", 0, "rc"), 0, "%s", after);
	/* Now in the root cgroup: the machine is the host (or the real file). */
	cr_assert_eq(text_kb(t2, "MemTotal"), host, "%s", after);
	free(t1);
	free(t2);
	free(before);
	free(after);
}

Test(faults, cgroup_removed_mid_use)
{
	vanish_case(false);
}

Test(faults, cgroup_removed_after_ttl)
{
	vanish_case(true);
}

/* ---- cgprocd: the run directory fills up --------------------------------------------------- */

static const char cgprocd_script[] =
	"R=$(mktemp -d /tmp/cgproc-rundir-XXXXXX)\n"
	"mount -t tmpfs -o size=4m cgproc-rundir \"$R\" || exit 3\n"
	"\"$CGPROCD\" --interval 0.2 --rundir \"$R/run\" 2>\"$R.err\" &\n"
	"P=$!\n"
	"i=0; while [ ! -e \"$R/run/table\" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done\n"
	"dd if=/dev/zero of=\"$R/fill\" bs=64k >/dev/null 2>&1\n"
	"echo \"== before $(\"$CGPROCD\" --dump --rundir \"$R/run\" | head -n1)\"\n"
	"sleep 2\n"
	"rm -f \"$R/fill\"\n"
	"sleep 1\n"
	"if kill -0 $P 2>/dev/null; then echo '== cgprocd alive=1'; else echo '== cgprocd "
	"alive=0'; fi\n"
	"echo \"== after $(\"$CGPROCD\" --dump --rundir \"$R/run\" | head -n1)\"\n"
	"kill $P 2>/dev/null; wait $P 2>/dev/null\n"
	"echo \"== log failures=$(grep -c 'cannot write' \"$R.err\") recoveries=$(grep -c 'again' "
	"\"$R.err\")\"\n"
	"cat \"$R.err\"\n"
	"umount \"$R\"; rmdir \"$R\"; rm -f \"$R.err\"\n";

static int ns_only(void *arg)
{
	return ns_private();
}

/* cgprocd keeps sampling while it cannot write its table (a full tmpfs), logs that once, and
 * says when it writes again; the table's generation kept counting passes. */
Test(faults, cgprocd_rundir_full)
{
	char cgprocd[4200], *args[] = {"-c", (char *)cgprocd_script, NULL};
	char *env[] = {cgprocd, NULL}, *out;
	struct probe_opts o = {.setup = ns_only, .env = env, .program = "/bin/sh"};
	long long before, after, failures, recoveries;

	harness_require(access(build_path("tools/cgprocd"), X_OK) == 0, "cgprocd not built");
	snprintf(cgprocd, sizeof(cgprocd), "CGPROCD=%s", build_path("tools/cgprocd"));
	cr_assert_eq(probe_run(&o, args, &out), 0, "%s", out);
	before = probe_field(out, "before", 0, "generation");
	after = probe_field(out, "after", 0, "generation");
	failures = probe_field(out, "log", 0, "failures");
	recoveries = probe_field(out, "log", 0, "recoveries");
	cr_log_info("FAULT cgprocd run directory full for 2 s (interval 0.2 s): alive=%lld, "
		    "generation %lld -> %lld, %lld failure line(s), %lld recovery line(s)",
		    probe_field(out, "cgprocd", 0, "alive"), before, after, failures, recoveries);
	cr_assert_eq(probe_field(out, "cgprocd", 0, "alive"), 1, "%s", out);
	cr_assert_eq(failures, 1, "%s", out);
	cr_assert_eq(recoveries, 1, "%s", out);
	cr_assert_gt(after, before + 5, "%s", out);
	free(out);
}

/* ---- a broken sampler table under the shim ------------------------------------------------- */

struct table_fault {
	char dir[256];
	int kind; /* 0 garbage, 1 truncated real table, 2 empty file, 3 directory, 4 valid */
};

/* Host load averages (the first three fields of /proc/loadavg) now. */
static void host_load(char *out, size_t size)
{
	char buf[256] = "";
	int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		buf[n > 0 ? n : 0] = 0;
		close(fd);
	}
	snprintf(out, size, "%.*s", (int)strcspn(buf, "/") - 2, buf);
}

static void table_case(const char *name, int kind)
{
	struct table_fault t = {.kind = kind};
	char envdir[300], *env[] = {envdir, NULL}, *actions[] = {"cat:/proc/loadavg", NULL};
	char before[128], after[128], path[400], *out, *text;
	struct probe_opts o = {.cg = &cg, .shim = true, .env = env};

	snprintf(t.dir, sizeof(t.dir), "/tmp/cgproc-table-fault-%d", (int)getpid());
	mkdir(t.dir, 0755);
	snprintf(path, sizeof(path), "%s/table", t.dir);
	if (kind == 0) {
		char junk[8192];

		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (char)(i * 131 + 7);
		cr_assert_eq(write_text(path, junk, sizeof(junk)), 0);
	} else if (kind == 1 || kind == 4) {
		char cmd[1024];

		harness_require(access(build_path("tools/cgprocd"), X_OK) == 0, "no cgprocd");
		snprintf(cmd, sizeof(cmd),
			 "'%s' --once --rundir '%s' >/dev/null 2>&1 && truncate -s %s '%s'",
			 build_path("tools/cgprocd"), t.dir, kind == 1 ? "-1000" : "+0", path);
		cr_assert_eq(system(cmd), 0, "%s", cmd);
	} else if (kind == 2) {
		cr_assert_eq(write_text(path, "", 0), 0);
	} else {
		cr_assert_eq(mkdir(path, 0755), 0);
	}
	snprintf(envdir, sizeof(envdir), "CGPROC_RUNDIR=%s", t.dir);
	host_load(before, sizeof(before));
	cr_assert_eq(probe_run(&o, actions, &out), 0, "%s", out);
	host_load(after, sizeof(after));
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t.dir);
		(void)system(cmd);
	}
	text = probe_section(out, "cat /proc/loadavg", 0);
	cr_assert_not_null(text, "%s", out);
	cr_log_info("FAULT sampler table %s (CGPROC_RUNDIR): loadavg \"%.*s\" errno=%lld (host "
		    "\"%s\")",
		    name, (int)strcspn(text, "\n"), text,
		    probe_field(out, "cat /proc/loadavg", 0, "errno"), before);
	cr_assert_eq(probe_field(out, "cat /proc/loadavg", 0, "errno"), SENTINEL, "%s", out);
	if (kind == 4) {
		/* The control: a fresh valid table is used (the test cgroup was idle when it was
		 * sampled), so the broken ones below prove something. */
		cr_assert(strncmp(text, "0.00 0.00 0.00 ", 15) == 0, "valid table not used: %s",
			  text);
		free(text);
		free(out);
		return;
	}
	/* No table: the host's averages. */
	cr_assert(strncmp(text, before, strlen(before)) == 0 ||
			  strncmp(text, after, strlen(after)) == 0,
		  "%s: %s is not the host's (%s / %s)", name, text, before, after);
	free(text);
	free(out);
}

Test(faults, table_valid_control)
{
	table_case("valid (control)", 4);
}

Test(faults, table_garbage)
{
	table_case("of garbage", 0);
}

Test(faults, table_truncated)
{
	table_case("truncated by 1000 bytes", 1);
}

Test(faults, table_empty)
{
	table_case("empty", 2);
}

Test(faults, table_directory)
{
	table_case("a directory", 3);
}

#ifdef HAVE_CGPROCFS
/* ---- the same faults under cgprocfs --------------------------------------------------------- */

/*
 * cgprocfs is started inside the child's private mount namespace (after the crafted mounts),
 * mounted on a temporary directory there, and a reader in the test cgroup reads every file it
 * serves. Rule: each read gives the host file or a clean error, and the daemon is still alive
 * afterwards.
 */
static const char fuse_script[] =
	"M=$(mktemp -d /tmp/cgproc-fusefault-XXXXXX)\n"
	"\"$CGPROCFS\" \"$M\" >/dev/null 2>&1 &\n"
	"P=$!\n"
	"i=0; while [ ! -e \"$M/proc/meminfo\" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); "
	"done\n"
	"for f in proc/meminfo proc/cpuinfo proc/stat proc/uptime proc/loadavg proc/swaps "
	"proc/diskstats sys/devices/system/cpu/online; do\n"
	"  [ -e \"$M/$f\" ] || continue\n"
	"  cat \"$M/$f\" >/tmp/cgproc-fusefault-$$.out 2>/tmp/cgproc-fusefault-$$.err\n"
	"  echo \"== fuse $f rc=$? err=$(head -c 200 /tmp/cgproc-fusefault-$$.err | tr '\\n' ' "
	"')\"\n"
	"  cat /tmp/cgproc-fusefault-$$.out\n"
	"done\n"
	"rm -f /tmp/cgproc-fusefault-$$.out /tmp/cgproc-fusefault-$$.err\n"
	"if kill -0 $P 2>/dev/null; then echo '== cgprocfs alive=1'; else echo '== cgprocfs "
	"alive=0'; fi\n"
	"kill $P 2>/dev/null; wait $P 2>/dev/null\n"
	"umount \"$M\" 2>/dev/null; rmdir \"$M\"\n";

static void fuse_case(const char *name, int (*fn)(void *), void *arg)
{
	char cgprocfs[4200], *args[] = {"-c", (char *)fuse_script, NULL};
	char *env[] = {cgprocfs, NULL}, *out, *text;
	struct probe_opts o = {
		.cg = &cg, .setup = fn, .arg = arg, .env = env, .program = "/bin/sh"};
	long long host = host_memtotal_kb(), total;
	int st, files = 0, errors = 0;

	harness_require(access(build_path("tools/cgprocfs/cgprocfs"), X_OK) == 0,
			"cgprocfs not built");
	harness_require(access("/dev/fuse", R_OK) == 0, "no /dev/fuse");
	snprintf(cgprocfs, sizeof(cgprocfs), "CGPROCFS=%s", build_path("tools/cgprocfs/cgprocfs"));
	st = probe_run(&o, args, &out);
	cr_assert_eq(st, 0, "%s: %s", name, out);
	for (const char *p = out; (p = strstr(p, "== fuse ")); p++) {
		files++;
		errors += probe_field(p, "fuse", 0, "rc") != 0;
	}
	text = probe_section(out, "fuse proc/meminfo", 0);
	total = text ? text_kb(text, "MemTotal") : -1;
	cr_log_info("FAULT cgprocfs, %s: %d files read, %d clean errors, meminfo rc=%lld "
		    "MemTotal=%lld kB (host %lld, limit %lld), daemon alive=%lld",
		    name, files, errors, probe_field(out, "fuse proc/meminfo", 0, "rc"), total,
		    host, LIMIT_KB, probe_field(out, "cgprocfs", 0, "alive"));
	cr_assert_eq(probe_field(out, "cgprocfs", 0, "alive"), 1, "%s: cgprocfs died:\n%s", name,
		     out);
	cr_assert_geq(files, 6, "%s: cgprocfs did not serve:\n%s", name, out);
	if (probe_field(out, "fuse proc/meminfo", 0, "rc") == 0) {
		char *real = NULL, *keys_real, *keys;
		int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);

		real = calloc(1, 65536);
		cr_assert_gt(read(fd, real, 65535), 0);
		close(fd);
		keys_real = text_keys(real);
		keys = text_keys(text);
		cr_assert_str_eq(keys, keys_real, "%s: meminfo fields differ:\n%s", name, text);
		cr_assert(total == host || total == LIMIT_KB, "%s: MemTotal %lld", name, total);
		cr_assert_leq(text_kb(text, "MemFree"), total, "%s", name);
		free(real);
		free(keys_real);
		free(keys);
	}
	free(text);
	free(out);
}

static void fuse_craft_case(const char *name, enum craft_kind kind)
{
	struct craft c = {.kind = kind};
	int h = memory_hier(&cg);

	harness_require(h >= 0, "no memory controller");
	snprintf(c.mount, sizeof(c.mount), "%s", cg.dir[h]);
	*strrchr(c.mount, '/') = 0;
	snprintf(c.name, sizeof(c.name), "%s", cg.name);
	fuse_case(name, craft_setup, &c);
}

TestSuite(faults_fuse, .init = setup, .fini = teardown, .timeout = 240);

Test(faults_fuse, control)
{
	fuse_craft_case("faithful copy (control)", CRAFT_CONTROL);
}

Test(faults_fuse, cgroup_tree_empty)
{
	fuse_craft_case("memory hierarchy empty", CRAFT_EMPTY);
}

Test(faults_fuse, memory_stat_garbage)
{
	fuse_craft_case("memory.stat garbage", CRAFT_STAT_GARBAGE);
}

Test(faults_fuse, limit_garbage)
{
	fuse_craft_case("limit file says banana", CRAFT_LIMIT_GARBAGE);
}

Test(faults_fuse, memory_stat_directory)
{
	fuse_craft_case("memory.stat is a directory", CRAFT_STAT_DIR);
}

Test(faults_fuse, memory_stat_huge)
{
	fuse_craft_case("memory.stat 32 MiB", CRAFT_STAT_HUGE);
}

Test(faults_fuse, memory_stat_endless)
{
	fuse_craft_case("memory.stat -> /dev/zero", CRAFT_STAT_ZERO);
}

Test(faults_fuse, memory_stat_fifo)
{
	fuse_craft_case("memory.stat is a FIFO", CRAFT_STAT_FIFO);
}

Test(faults_fuse, usage_over_limit)
{
	fuse_craft_case("usage twice the limit", CRAFT_USAGE_OVER);
}

Test(faults_fuse, cgroup_root_empty)
{
	/* An empty tmpfs over the whole of /sys/fs/cgroup: no hierarchy at all. */
	struct craft c = {.kind = CRAFT_EMPTY};

	snprintf(c.mount, sizeof(c.mount), "/sys/fs/cgroup");
	snprintf(c.name, sizeof(c.name), "%s", cg.name);
	fuse_case("/sys/fs/cgroup empty", craft_setup, &c);
}
#endif /* HAVE_CGPROCFS */

/* ---- calls before the shim's constructor ------------------------------------------------- */

/*
 * A library the program links is initialised before the preloaded shim (ELF init order), and
 * allocators and sanitizer runtimes call sysconf() from their constructors (ASan sizes its
 * signal stack with _SC_SIGSTKSZ). Until its constructor has run the shim must answer those
 * exactly like libc.
 */
Test(faults, sysconf_before_constructor)
{
	static const char *const names[] = {
		"ARG_MAX", "SIGSTKSZ", "NGROUPS_MAX",	   "OPEN_MAX",	    "PAGESIZE",
		"CLK_TCK", "LINE_MAX", "GETPW_R_SIZE_MAX", "HOST_NAME_MAX", "MINSIGSTKSZ"};
	char *actions[] = {"early", NULL}, *real, *shim;
	struct probe_opts o = {.program = build_path("tests/client/cgproc-probe-early")};
	int bad = 0;

	cr_assert_eq(probe_run(&o, actions, &real), 0, "%s", real);
	o.shim = true;
	cr_assert_eq(probe_run(&o, actions, &shim), 0, "%s", shim);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char key[64];
		const char *a, *b;

		snprintf(key, sizeof(key), " %s=", names[i]);
		a = strstr(real, key);
		b = strstr(shim, key);
		cr_assert(a && b, "%s: %s / %s", names[i], real, shim);
		a++;
		b++;
		if (strcspn(a, " \n") != strcspn(b, " \n") || strncmp(a, b, strcspn(a, " \n")) != 0)
			bad++;
	}
	cr_log_info("FAULT sysconf() before the shim's constructor: %d of %zu keys differ from "
		    "libc (real: %.*s; shim: %.*s)",
		    bad, sizeof(names) / sizeof(names[0]), (int)strcspn(real, "\n"), real,
		    (int)strcspn(shim, "\n"), shim);
	cr_assert_eq(bad, 0, "real: %s\nshim: %s", real, shim);
	free(real);
	free(shim);
}

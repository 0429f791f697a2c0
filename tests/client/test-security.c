/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The threat model of cgproc(7) SECURITY, checked with real processes (suite client):
 *  - isolation: processes in two cgroups with different limits, reading at the same time, each
 *    see only their own machine;
 *  - hostile process names: a comm of "x) R 1 2 3\n4" does not shift the fields of
 *    /proc/<pid>/stat as the shim renders it, for the process itself or for others;
 *  - AT_SECURE: a setuid-root program started as nobody with the shim from /etc/ld.so.preload
 *    (bind-mounted in a private mount namespace: an overlay over /etc) ignores CGPROC_LOG,
 *    CGPROC_ENABLED, CGPROC_MACHINE and a user-owned /etc/cgproc.conf; the controls show each of
 *    those inputs does act on a process that is not AT_SECURE (or, for the file, when root owns
 *    it).
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "probe-run.h"

#define LIMIT_KB (512LL * 1024)
#define NOBODY 65534

static struct cgdirs cg, cg2;
static char base[256];

static void setup(void)
{
	probe_cg_setup(&cg);
}

static void teardown(void)
{
	char cmd[512];

	testcg_destroy(&cg);
	testcg_destroy(&cg2);
	if (base[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
		(void)system(cmd);
		base[0] = 0;
	}
}

TestSuite(security, .init = setup, .fini = teardown, .timeout = 300);

/* ---- isolation between cgroups ----------------------------------------------------------- */

Test(security, cgroups_isolated_concurrently)
{
	char *actions[] = {"wait", "repeat:300:/proc/meminfo", NULL};
	struct probe_opts o1 = {.cg = &cg, .shim = true}, o2 = {.cg = &cg2, .shim = true};
	struct probe_proc p1, p2;
	char *w1, *w2, *out1, *out2;
	long long d1, d2, f1, f2, l1, l2;

	cr_assert_eq(testcg_create(&cg2), 0);
	cr_assert_eq(testcg_limit_default(&cg2), 0);
	if (testcg_write(&cg2, "memory.limit_in_bytes", "268435456") == -ENOENT)
		cr_assert_eq(testcg_write(&cg2, "memory.max", "268435456"), 0);
	cr_assert_eq(probe_start(&o1, actions, &p1), 0);
	cr_assert_eq(probe_start(&o2, actions, &p2), 0);
	cr_assert_eq(probe_until_wait(&p1, &w1), 0, "%s", w1);
	cr_assert_eq(probe_until_wait(&p2, &w2), 0, "%s", w2);
	/* Release both, so that their 300 reads overlap. */
	(void)write(p1.go, "g", 1);
	(void)write(p2.go, "g", 1);
	cr_assert_eq(probe_finish(&p1, 120, &out1), 0, "%s", out1);
	cr_assert_eq(probe_finish(&p2, 120, &out2), 0, "%s", out2);
	d1 = probe_field(out1, "repeat", 0, "distinct");
	d2 = probe_field(out2, "repeat", 0, "distinct");
	f1 = probe_field(out1, "repeat", 0, "first");
	f2 = probe_field(out2, "repeat", 0, "first");
	l1 = probe_field(out1, "repeat", 0, "last");
	l2 = probe_field(out2, "repeat", 0, "last");
	cr_log_info("THREAT isolation: 300 concurrent reads each: cgroup A (512 MiB) saw %lld "
		    "distinct MemTotal (%lld kB), cgroup B (256 MiB) saw %lld (%lld kB)",
		    d1, f1, d2, f2);
	cr_assert_eq(d1, 1, "%s", out1);
	cr_assert_eq(d2, 1, "%s", out2);
	cr_assert_eq(f1, LIMIT_KB);
	cr_assert_eq(l1, LIMIT_KB);
	cr_assert_eq(f2, 256 * 1024);
	cr_assert_eq(l2, 256 * 1024);
	free(w1);
	free(w2);
	free(out1);
	free(out2);
}

/* ---- hostile comm ------------------------------------------------------------------------ */

/* Fields of a stat line: fields[0] pid, fields[1] comm (without parentheses), then 3.. */
static int stat_split(const char *line, char fields[64][256])
{
	const char *open = strchr(line, '('), *close = strrchr(line, ')'), *p;
	int n = 2;

	if (!open || !close || close < open)
		return -1;
	snprintf(fields[0], 256, "%.*s", (int)(open - line - 1), line);
	snprintf(fields[1], 256, "%.*s", (int)(close - open - 1), open + 1);
	for (p = close + 1; *p && n < 64;) {
		size_t len;

		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			break;
		len = strcspn(p, " \n");
		snprintf(fields[n++], 256, "%.*s", (int)len, p);
		p += len;
	}
	return n;
}

static char *read_text(const char *path)
{
	char *buf = malloc(8192);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, 8191) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

Test(security, hostile_comm_stat)
{
	char *actions[] = {"comm:x) R 1 2 3%n4 (", "cat:/proc/self/stat", "wait", NULL};
	struct probe_opts o = {.cg = &cg, .shim = true};
	static char self[64][256], native[64][256], other[64][256];
	struct probe_proc p;
	char *before, *after, *text, *native_text, path[64], act[80], *oout;
	char *oact[] = {act, NULL};
	int ns, nn, no;

	cr_assert_eq(probe_start(&o, actions, &p), 0);
	cr_assert_eq(probe_until_wait(&p, &before), 0, "%s", before);
	text = probe_section(before, "cat /proc/self/stat", 0);
	cr_assert_not_null(text, "%s", before);
	snprintf(path, sizeof(path), "/proc/%d/stat", p.pid);
	native_text = read_text(path);
	/* Another process (with the shim) reads the hostile process's stat. */
	snprintf(act, sizeof(act), "cat:%s", path);
	cr_assert_eq(probe_run(&o, oact, &oout), 0, "%s", oout);
	cr_assert_eq(probe_finish(&p, 30, &after), 0, "%s", after);

	ns = stat_split(text, self);
	nn = stat_split(native_text, native);
	{
		char *otext = probe_section(oout, "cat /proc/", 0);

		cr_assert_not_null(otext, "%s", oout);
		no = stat_split(otext, other);
		free(otext);
	}
	cr_log_info("THREAT hostile comm \"x) R 1 2 3\\n4 (\": shim self read %d fields, other "
		    "reader %d, native %d; starttime native %s, shim self %s, shim other %s",
		    ns, no, nn, native[21], self[21], other[21]);
	cr_assert_eq(nn, 52, "%s", native_text);
	cr_assert_eq(ns, nn, "self: %s\nnative: %s", text, native_text);
	cr_assert_eq(no, nn, "other: %s\nnative: %s", oout, native_text);
	cr_assert_str_eq(self[1], "x) R 1 2 3\n4 (");
	cr_assert_str_eq(other[1], native[1]);
	/* pid, ppid, pgrp, session, tty, flags: unchanged by the render. */
	for (int i = 0; i < 9; i++) {
		if (i == 1 || i == 2)
			continue; /* comm checked above; state differs (running vs sleeping) */
		cr_assert_str_eq(self[i], native[i], "field %d: %s / %s", i + 1, text, native_text);
		cr_assert_str_eq(other[i], native[i], "field %d: %s / %s", i + 1, oout,
				 native_text);
	}
	/* The shim did render (not pass through): the machine is the test cgroup, whose first
	 * process is the probe itself, so its start time is shifted (to 0). */
	cr_assert_str_neq(self[21], native[21], "not rendered: %s", text);
	/* starttime (field 22) stays a number, whatever the shift. */
	cr_assert(strspn(self[21], "0123456789") == strlen(self[21]) && self[21][0], "%s", text);
	cr_assert(strspn(other[21], "0123456789") == strlen(other[21]) && other[21][0], "%s", oout);
	free(text);
	free(native_text);
	free(before);
	free(after);
	free(oout);
}

/* ---- AT_SECURE ----------------------------------------------------------------------------- */

struct secure_env {
	const char *conf; /* /etc/cgproc.conf content, NULL = none */
	uid_t conf_owner; /* its owner */
	/* makes meminfo fail (logged): an empty tmpfs over a v1 memory hierarchy; on cgroup v2,
	 * where that hierarchy also holds the cpuset, /dev/null over the cgroup's memory files */
	bool empty_memory;
	char mem_mount[512];
	bool mem_v2;
};

static int secure_setup(void *arg)
{
	struct secure_env *e = arg;
	char ovl[512], upper[600], work[600], path[700], opts[2048];
	int r = ns_private();

	if (r < 0)
		return r;
	snprintf(ovl, sizeof(ovl), "%s/ovl", base);
	if (mount("cgproc-sec", ovl, "tmpfs", 0, "mode=0755") < 0)
		return -errno;
	snprintf(upper, sizeof(upper), "%s/upper", ovl);
	snprintf(work, sizeof(work), "%s/work", ovl);
	if (mkdir(upper, 0755) < 0 || mkdir(work, 0755) < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/ld.so.preload", upper);
	snprintf(opts, sizeof(opts), "%s/libcgproc.so\n", base);
	r = write_text(path, opts, strlen(opts));
	if (r < 0)
		return r;
	if (e->conf) {
		snprintf(path, sizeof(path), "%s/cgproc.conf", upper);
		r = write_text(path, e->conf, strlen(e->conf));
		if (r == 0 && chown(path, e->conf_owner, e->conf_owner) < 0)
			r = -errno;
		if (r < 0)
			return r;
	}
	snprintf(opts, sizeof(opts), "lowerdir=/etc,upperdir=%s,workdir=%s", upper, work);
	if (mount("cgproc-sec", "/etc", "overlay", 0, opts) < 0)
		return -errno;
	if (e->empty_memory && !e->mem_v2 &&
	    mount("cgproc-sec", e->mem_mount, "tmpfs", 0, "mode=0755") < 0)
		return -errno;
	for (int i = 0; e->empty_memory && e->mem_v2 && i < 3; i++) {
		static const char *const files[] = {"memory.current", "memory.stat", "memory.max"};

		snprintf(path, sizeof(path), "%s/%s", e->mem_mount, files[i]);
		if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0)
			return -errno;
	}
	return 0;
}

static int count_processors(const char *out)
{
	char *text = probe_section(out, "cat /proc/cpuinfo", 0);
	int n = 0;

	for (const char *p = text; p && (p = strstr(p, "processor")); p++)
		if (p == text || p[-1] == '\n')
			n++;
	free(text);
	return n;
}

struct secure_run {
	int processors;
	long long at_secure;
	bool log_written;
	char *out;
};

static void secure_run(bool setuid, char *const env[], struct secure_env *e, struct secure_run *ret)
{
	char *wrap[] = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", NULL};
	char *actions[] = {"secure", "cat:/proc/cpuinfo", "cat:/proc/meminfo", NULL};
	char prog[512], log[512];
	struct probe_opts o = {
		.cg = &cg, .env = env, .setup = secure_setup, .arg = e, .wrap = wrap};
	int st;

	snprintf(prog, sizeof(prog), "%s/%s", base, setuid ? "probe-setuid" : "probe");
	snprintf(log, sizeof(log), "%s/logs/cgproc.log", base);
	unlink(log);
	o.program = prog;
	st = probe_run(&o, actions, &ret->out);
	cr_assert_eq(st, 0, "%s", ret->out);
	ret->processors = count_processors(ret->out);
	ret->at_secure = probe_field(ret->out, "secure", 0, "at_secure");
	ret->log_written = access(log, F_OK) == 0;
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	cr_assert_eq(chown(to, 0, 0), 0);
	cr_assert_eq(chmod(to, mode), 0);
}

Test(security, at_secure_ignores_environment_and_user_config)
{
	char path[512], logenv[600];
	struct secure_env e = {.empty_memory = true};
	struct secure_run r;
	int h = -1;

	harness_require(access("/usr/bin/setpriv", X_OK) == 0, "setpriv not installed");
	harness_require(get_nprocs() >= 2, "needs 2 CPUs to tell the cpuset view from the host");
	for (int i = 0; i < cg.n; i++) {
		snprintf(path, sizeof(path), "%s/memory.stat", cg.dir[i]);
		if (access(path, F_OK) == 0)
			h = i;
	}
	cr_assert_geq(h, 0);
	snprintf(e.mem_mount, sizeof(e.mem_mount), "%s", cg.dir[h]);
	e.mem_v2 = strcmp(cg.ctrl[h], "unified") == 0;
	if (!e.mem_v2)
		*strrchr(e.mem_mount, '/') = 0;

	snprintf(base, sizeof(base), "/tmp/cgproc-sec-%d-XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(base));
	cr_assert_eq(chmod(base, 0755), 0);
	snprintf(path, sizeof(path), "%s/ovl", base);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/logs", base);
	cr_assert_eq(mkdir(path, 0755), 0);
	cr_assert_eq(chown(path, NOBODY, NOBODY), 0);
	snprintf(path, sizeof(path), "%s/libcgproc.so", base);
	copy_file(build_path("preload/libcgproc.so"), path, 0644);
	snprintf(path, sizeof(path), "%s/probe", base);
	copy_file(build_path("tests/client/cgproc-probe"), path, 0755);
	snprintf(path, sizeof(path), "%s/probe-setuid", base);
	copy_file(build_path("tests/client/cgproc-probe"), path, 04755);
	snprintf(logenv, sizeof(logenv), "CGPROC_LOG=%s/logs/cgproc.log", base);

	{
		/* Control 1: not AT_SECURE, CGPROC_LOG only. The cpuset view (1 CPU) is served and
		 * the meminfo failure (empty memory hierarchy) is logged. */
		char *env[] = {logenv, NULL};

		secure_run(false, env, &e, &r);
		cr_log_info("THREAT control, not AT_SECURE, CGPROC_LOG set: at_secure=%lld, %d "
			    "processors, log written: %s",
			    r.at_secure, r.processors, r.log_written ? "yes" : "no");
		cr_assert_eq(r.at_secure, 0, "%s", r.out);
		cr_assert_eq(r.processors, 1, "%s", r.out);
		cr_assert(r.log_written, "CGPROC_LOG not written without AT_SECURE:\n%s", r.out);
		free(r.out);
	}
	{
		/* Control 2: not AT_SECURE, CGPROC_ENABLED=0: the host's CPUs. */
		char *env[] = {"CGPROC_ENABLED=0", NULL};

		secure_run(false, env, &e, &r);
		cr_log_info("THREAT control, not AT_SECURE, CGPROC_ENABLED=0: %d processors",
			    r.processors);
		cr_assert_eq(r.processors, get_nprocs_conf(), "%s", r.out);
		free(r.out);
	}
	{
		/* Control 3: not AT_SECURE, CGPROC_MACHINE=/: the root cgroup, the host's CPUs. */
		char *env[] = {"CGPROC_MACHINE=/", NULL};

		secure_run(false, env, &e, &r);
		cr_log_info("THREAT control, not AT_SECURE, CGPROC_MACHINE=/: %d processors",
			    r.processors);
		cr_assert_eq(r.processors, get_nprocs_conf(), "%s", r.out);
		free(r.out);
	}
	{
		/* Control 4: AT_SECURE with a root-owned /etc/cgproc.conf "enabled = no": read. */
		struct secure_env e2 = e;

		e2.conf = "enabled = no\n";
		e2.conf_owner = 0;
		secure_run(true, NULL, &e2, &r);
		cr_log_info("THREAT control, AT_SECURE, root-owned cgproc.conf enabled=no: "
			    "at_secure=%lld, %d processors",
			    r.at_secure, r.processors);
		cr_assert_eq(r.at_secure, 1, "%s", r.out);
		cr_assert_eq(r.processors, get_nprocs_conf(), "%s", r.out);
		free(r.out);
	}
	{
		/* The attack: AT_SECURE, every CGPROC_* variable set and a nobody-owned
		 * /etc/cgproc.conf that turns cgproc off. All ignored: the cpuset view, no log. */
		char *env[] = {logenv, "CGPROC_ENABLED=0", "CGPROC_MACHINE=/", NULL};
		struct secure_env e3 = e;

		e3.conf = "enabled = no\nmachine = /\n";
		e3.conf_owner = NOBODY;
		secure_run(true, env, &e3, &r);
		cr_log_info(
			"THREAT AT_SECURE with CGPROC_LOG, CGPROC_ENABLED=0, CGPROC_MACHINE=/ and "
			"a nobody-owned cgproc.conf: at_secure=%lld, %d processors, log written: "
			"%s",
			r.at_secure, r.processors, r.log_written ? "yes" : "no");
		cr_assert_eq(r.at_secure, 1, "%s", r.out);
		cr_assert_eq(r.processors, 1, "environment or user config obeyed:\n%s", r.out);
		cr_assert_not(r.log_written, "CGPROC_LOG written under AT_SECURE");
		free(r.out);
	}
}

#ifdef HAVE_CGPROCFS
/* ---- FUSE requests are answered for their sender ------------------------------------------ */

static const char fuse_isolation_script[] =
	"M=$(mktemp -d /tmp/cgproc-fusesec-XXXXXX)\n"
	/* a new process per read; a static head where there is one (busybox-static): a dynamic
	 * one's start is most of the run on a slow (emulated) machine */
	"HEAD=head; [ -x /bin/busybox ] && HEAD='/bin/busybox head'; export HEAD\n"
	"\"$CGPROCFS\" \"$M\" >/dev/null 2>&1 &\n"
	"P=$!\n"
	"i=0; while [ ! -e \"$M/proc/meminfo\" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); "
	"done\n"
	"reader() { sh -c 'echo $$ > \"$1/cgroup.procs\" && i=0 && while [ $i -lt 300 ]; do "
	"$HEAD -n1 \"$2/proc/meminfo\"; i=$((i+1)); done' sh \"$1\" \"$M\" | sort | uniq -c; }\n"
	"reader \"$CG1\" >/tmp/cgproc-fusesec-$$.1 & R1=$!\n"
	"reader \"$CG2\" >/tmp/cgproc-fusesec-$$.2 & R2=$!\n"
	"wait $R1 $R2\n"
	"echo '== A'; cat /tmp/cgproc-fusesec-$$.1\n"
	"echo '== B'; cat /tmp/cgproc-fusesec-$$.2\n"
	"rm -f /tmp/cgproc-fusesec-$$.1 /tmp/cgproc-fusesec-$$.2\n"
	"kill $P 2>/dev/null; wait $P 2>/dev/null\n"
	"umount \"$M\" 2>/dev/null; rmdir \"$M\"\n";

static int private_ns(void *arg)
{
	return ns_private();
}

Test(security, cgprocfs_answers_each_sender)
{
	char cgprocfs[4200], env1[600], env2[600], *out, *a, *b;
	char *args[] = {"-c", (char *)fuse_isolation_script, NULL};
	char *env[] = {cgprocfs, env1, env2, NULL};
	struct probe_opts o = {.setup = private_ns, .env = env, .program = "/bin/sh"};
	int h = -1;

	harness_require(access("/dev/fuse", R_OK) == 0, "no /dev/fuse");
	cr_assert_eq(testcg_create(&cg2), 0);
	cr_assert_eq(testcg_limit_default(&cg2), 0);
	if (testcg_write(&cg2, "memory.limit_in_bytes", "268435456") == -ENOENT)
		cr_assert_eq(testcg_write(&cg2, "memory.max", "268435456"), 0);
	for (int i = 0; i < cg.n; i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/memory.stat", cg.dir[i]);
		if (access(path, F_OK) == 0)
			h = i;
	}
	cr_assert_geq(h, 0);
	snprintf(cgprocfs, sizeof(cgprocfs), "CGPROCFS=%s", build_path("tools/cgprocfs/cgprocfs"));
	snprintf(env1, sizeof(env1), "CG1=%s", cg.dir[h]);
	snprintf(env2, sizeof(env2), "CG2=%s", cg2.dir[h]);
	cr_assert_eq(probe_run(&o, args, &out), 0, "%s", out);
	a = probe_section(out, "A", 0);
	b = probe_section(out, "B", 0);
	cr_assert(a && b, "%s", out);
	cr_log_info("THREAT cgprocfs, 300 concurrent reads from each of two cgroups: A saw [%s], B "
		    "saw [%s]",
		    a, b);
	/* One distinct first line each: its own MemTotal. */
	cr_assert_not_null(strstr(a, "300 MemTotal:"), "%s", out);
	cr_assert_not_null(strstr(a, " 524288 kB"), "%s", out);
	cr_assert_not_null(strstr(b, "300 MemTotal:"), "%s", out);
	cr_assert_not_null(strstr(b, " 262144 kB"), "%s", out);
	free(a);
	free(b);
	free(out);
}
#endif /* HAVE_CGPROCFS */

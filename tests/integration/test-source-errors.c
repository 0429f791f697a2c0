/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * source/ and the vfile renderers on broken trees: every function returns -errno, never crashes,
 * for missing, unreadable (a directory where a file should be), empty, truncated and garbage
 * files. Each test works on a private copy of tests/data/v2 and breaks one thing in it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

static char tmp[256];
static struct cg_src src = {.rootfd = -1};

static void setup_tree(const char *tree)
{
	char cmd[1024];

	snprintf(tmp, sizeof(tmp), "/tmp/cgproc-errors-%d-XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(tmp));
	snprintf(cmd, sizeof(cmd), "cp -a '%s/.' '%s/'", fixture_dir(tree), tmp);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(fixture_open(tmp, &src), 0);
}

static void setup(void)
{
	setup_tree("v2");
}

static void setup_v1(void)
{
	setup_tree("v1");
}

static void teardown(void)
{
	char cmd[512];

	if (src.rootfd >= 0)
		close(src.rootfd);
	src.rootfd = -1;
	if (tmp[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		(void)system(cmd);
	}
}

TestSuite(errors, .init = setup, .fini = teardown);

static void put(const char *rel, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	unlink(path);
	f = fopen(path, "we");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void drop(const char *rel)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	cr_assert_eq(unlink(path), 0, "%s", path);
}

static void make_dir(const char *rel)
{
	char path[1024];

	drop(rel);
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	cr_assert_eq(mkdir(path, 0755), 0);
}

static void relink(const char *rel, const char *target)
{
	char path[1024];

	drop(rel);
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	cr_assert_eq(symlink(target, path), 0);
}

/* Every file of the table renders or fails cleanly, for every case. */
static void render_all(void)
{
	static const pid_t pids[] = {200, 301, 400};
	struct cgproc_config cfg;

	config_defaults(&cfg);
	for (size_t i = 0; i < 3; i++) {
		struct cg_machine m;

		if (cg_machine_find(&src, pids[i], NULL, &m) < 0)
			continue;
		vfile_foreach (vf) {
			char *text = NULL;
			size_t len = 0;
			int r = fixture_render(&src, &m, &cfg, vf, pids[i], &text, &len);

			cr_expect_leq(r, 0);
			cr_expect_neq(r, -ENOBUFS);
			free(text);
		}
	}
}

static void machine(pid_t pid, struct cg_machine *m)
{
	cr_assert_eq(cg_machine_find(&src, pid, NULL, m), 0);
}

#define WEB "sys/fs/cgroup/app.slice/web.service/"

Test(errors, missing)
{
	struct cg_machine m;
	struct cg_memory mem;
	char buf[256];
	uint64_t up, host;

	cr_expect_eq(src_read(&src, "proc/nonexistent", buf, sizeof(buf), NULL), -ENOENT);
	cr_expect_eq(cg_machine_find(&src, 999, NULL, &m), -ENOENT);
	machine(200, &m);
	cr_expect_eq(cg_read(&src, &m, CG_MEMORY, "memory.nonexistent", buf, sizeof(buf), NULL),
		     -ENODATA);
	drop(WEB "memory.stat");
	cr_expect_eq(cg_read_memory(&src, &m, &mem), -ENODATA);
	drop("proc/uptime");
	cr_expect_eq(cg_read_uptime(&src, &m, &up, &host), -ENOENT);
	drop("proc/100/mountinfo");
	drop("proc/200/mountinfo");
	cr_expect_lt(cg_machine_find(&src, 200, NULL, &m), 0);
	render_all();
}

Test(errors, missing_controller_files)
{
	struct cg_machine m;
	struct cg_cpu cpu;

	machine(200, &m);
	/* no cpuset files anywhere: the host's online CPUs; no cpu.stat: no time used */
	drop(WEB "cpuset.cpus.effective");
	drop(WEB "cpuset.cpus");
	drop("sys/fs/cgroup/app.slice/cpuset.cpus.effective");
	drop("sys/fs/cgroup/app.slice/cpuset.cpus");
	drop("sys/fs/cgroup/cpuset.cpus.effective");
	drop(WEB "cpu.stat");
	cr_assert_eq(cg_read_cpu(&src, &m, NULL, 0, &cpu), 0);
	cr_expect_eq(cpuset_count(&cpu.visible), 4);
	cr_expect_eq(cpu.user_ns + cpu.system_ns, 0);
	drop("sys/devices/system/cpu/online");
	cr_expect_eq(cg_read_cpu(&src, &m, NULL, 0, &cpu), -ENOENT);
	render_all();
}

Test(errors, directory_instead_of_file)
{
	struct cg_machine m;
	struct cg_memory mem;
	struct cg_cpu cpu;
	struct cgproc_config cfg;
	char *text = NULL;
	size_t len;

	machine(200, &m);
	make_dir(WEB "memory.max");
	cr_expect_eq(cg_read_memory(&src, &m, &mem), -EISDIR);
	make_dir(WEB "cpu.max");
	cr_expect_eq(cg_read_cpu(&src, &m, NULL, 0, &cpu), -EISDIR);
	make_dir("proc/meminfo");
	config_defaults(&cfg);
	cr_expect_eq(fixture_render(&src, &m, &cfg, vfile_lookup("meminfo"), 200, &text, &len),
		     -EISDIR);
	free(text);
	render_all();
}

Test(errors, empty_files)
{
	struct cg_machine m;
	struct cg_memory mem;
	struct cg_cpu cpu;
	uint64_t up, host;

	machine(200, &m);
	put(WEB "memory.current", "");
	cr_expect_eq(cg_read_memory(&src, &m, &mem), -EINVAL);
	put(WEB "cpu.max", "");
	cr_expect_lt(cg_read_cpu(&src, &m, NULL, 0, &cpu), 0);
	put("proc/uptime", "");
	cr_expect_eq(cg_read_uptime(&src, &m, &up, &host), -EINVAL);
	put("proc/200/cgroup", "");
	cr_expect_lt(cg_machine_find(&src, 200, NULL, &m), 0);
	render_all();
}

Test(errors, truncated_files)
{
	struct cg_machine m;
	struct cg_cpu cpu;
	uint64_t up, host;

	machine(200, &m);
	/* the only process's stat cut before field 22: no start time for the machine */
	put("proc/200/stat", "200 (slee");
	cr_expect_eq(cg_read_uptime(&src, &m, &up, &host), -ENODATA);
	put(WEB "cpuset.cpus.effective", "0-");
	cr_expect_eq(cg_read_cpu(&src, &m, NULL, 0, &cpu), -EINVAL);
	/* mountinfo cut in the middle of its only cgroup line (the reader's, and the process's
	 * which is the fallback when the reader's cannot be parsed) */
	put("proc/100/mountinfo", "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
				  "30 24 0:26 / /sys/fs/cgroup rw,nosuid");
	put("proc/200/mountinfo", "30 24 0:26 / /sys/fs/cgroup rw,nosuid");
	cr_expect_eq(cg_machine_find(&src, 200, NULL, &m), -ENOENT);
	render_all();
}

Test(errors, garbage_files)
{
	struct cg_machine m;
	struct cg_memory mem;
	struct cg_cpu cpu;
	uint64_t up, host;
	double load[3];
	struct vfile_req req = {.src = &src, .machine = &m};
	char scratch[4096];

	machine(200, &m);
	put(WEB "memory.max", "lots\n");
	cr_expect_eq(cg_read_memory(&src, &m, &mem), -EINVAL);
	put(WEB "cpu.max", "fast 100000\n");
	cr_expect_eq(cg_read_cpu(&src, &m, NULL, 0, &cpu), -EINVAL);
	put("proc/uptime", "abc def\n");
	cr_expect_eq(cg_read_uptime(&src, &m, &up, &host), -EINVAL);
	put("proc/loadavg", "\x01\x02 garbage\n");
	req.scratch = scratch;
	req.scratch_size = sizeof(scratch);
	cr_expect_lt(vfile_loadavg(&req, load), 0);
	put("proc/200/cgroup", "this is not a cgroup file\n");
	cr_expect_lt(cg_machine_find(&src, 200, NULL, &m), 0);
	put("proc/100/mountinfo", "\n\n- - - cgroup2\n");
	put("proc/301/mountinfo", "1 2 3\n");
	cr_expect_lt(cg_machine_find(&src, 301, NULL, &m), 0);
	render_all();
}

Test(errors, garbage_namespaces)
{
	struct cg_machine m;

	/* an unreadable namespace link reads as "initial": rule 4 instead of rule 2 */
	relink("proc/400/ns/cgroup", "not-a-namespace");
	machine(400, &m);
	cr_expect_eq(m.rule, 4);
	/* a broken status of the process itself: the init is still found by scanning proc/ */
	put("proc/301/status", "Name:\tsleep\nNSpid:\tgarbage\n");
	machine(301, &m);
	cr_expect_eq(m.rule, 3);
	cr_expect_eq(m.init_pid, 300);
	/* and no init at all: rule 4 */
	put("proc/300/status", "Name:\tinit\n");
	machine(301, &m);
	cr_expect_eq(m.rule, 4);
	render_all();
}

Test(errors, buffer_sizes)
{
	char buf[64];
	size_t len = 0;
	struct cg_machine m;
	char small[1024];

	put("proc/loadavg", "0.00 0.01 0.05 1/100 4242\n"); /* 26 bytes */
	cr_expect_eq(src_read(&src, "proc/loadavg", buf, 26, &len), -ENOBUFS);
	cr_expect_eq(src_read(&src, "proc/loadavg", buf, 27, &len), 0);
	cr_expect_eq(len, 26);
	cr_expect_eq(src_read(&src, "proc/loadavg", buf, 0, &len), -EINVAL);
	cr_expect_eq(cg_machine_find_scratch(&src, 200, NULL, small, sizeof(small), &m), -ENOBUFS);
}

/* v1 without memory.stat's hierarchical_* keys (old kernels): the limits are walked instead. */
Test(v1walk, without_hierarchical_keys, .init = setup_v1, .fini = teardown)
{
	static const char *const stat = "sys/fs/cgroup/memory/cgproc-fixture/pod/ct2/memory.stat";
	char path[1024], cmd[1200];
	struct cg_machine m;
	struct cg_memory mem;

	snprintf(path, sizeof(path), "%s/%s", tmp, stat);
	snprintf(cmd, sizeof(cmd), "sed -i '/^hierarchical_/d' '%s'", path);
	cr_assert_eq(system(cmd), 0);
	machine(400, &m);
	cr_assert_eq(cg_read_memory(&src, &m, &mem), 0);
	cr_expect_eq(mem.limit, 209715200, "pod's limit, above the namespace root: %llu",
		     (unsigned long long)mem.limit);
	/* and a garbage limit on the way up fails the read */
	put("sys/fs/cgroup/memory/cgproc-fixture/memory.limit_in_bytes", "many\n");
	cr_expect_eq(cg_read_memory(&src, &m, &mem), -EINVAL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Threat model, "the core never opens outside the cgroup and proc trees" (cgproc(7) SECURITY):
 * /proc/<pid>/cgroup, mountinfo and the machine override are input a container (or a user of
 * the environment) controls. A copy of tests/data/v1 is spoiled so that process 200's memory
 * cgroup path, or the memory mount point, leads out of the memory hierarchy (".." components,
 * symlinks, a symlinked intermediate directory) to a canary cgroup whose limit is 4242424242
 * bytes, placed both inside the fixture root (tree/etc) and outside it (../outside). The core
 * must refuse (-errno, and the renderers fall back to the host file): no number from a canary
 * may appear in what a reader gets.
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

#define CANARY_LIMIT "4242424242"
#define CANARY_KB "4142992" /* 4242424242 / 1024 */

static char base[256], tree[300], outside[300];
static struct cg_src src = {.rootfd = -1};

static void put(const char *path, const char *text)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "we");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void canary(const char *dir)
{
	char cmd[1024], path[1024];
	static const char *const files[][2] = {
		{"memory.limit_in_bytes", CANARY_LIMIT "\n"},
		{"memory.usage_in_bytes", "4242\n"},
		{"memory.memsw.limit_in_bytes", CANARY_LIMIT "\n"},
		{"memory.memsw.usage_in_bytes", "4242\n"},
		{"memory.stat",
		 "total_cache 4242\ntotal_rss 4242\nhierarchical_memory_limit " CANARY_LIMIT "\n"},
	};

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/cgproc-fixture/app'", dir);
	cr_assert_eq(system(cmd), 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
		put(path, files[i][1]);
		snprintf(path, sizeof(path), "%s/cgproc-fixture/app/%s", dir, files[i][0]);
		put(path, files[i][1]);
	}
}

static void setup(void)
{
	char cmd[1024];

	snprintf(base, sizeof(base), "/tmp/cgproc-escape-%d-XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(base));
	snprintf(tree, sizeof(tree), "%s/tree", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && cp -a '%s/.' '%s/'", tree, fixture_dir("v1"),
		 tree);
	cr_assert_eq(system(cmd), 0);
	canary(outside);
	snprintf(cmd, sizeof(cmd), "%s/etc", tree);
	canary(cmd);
	cr_assert_eq(fixture_open(tree, &src), 0);
}

static void teardown(void)
{
	char cmd[512];

	if (src.rootfd >= 0)
		close(src.rootfd);
	src.rootfd = -1;
	if (base[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
		(void)system(cmd);
	}
}

TestSuite(escape, .init = setup, .fini = teardown);

/* Process 200's memory line becomes @memline. */
static void set_memory_path(const char *path)
{
	char file[512], text[2048];

	snprintf(file, sizeof(file), "%s/proc/200/cgroup", tree);
	snprintf(text, sizeof(text),
		 "9:name=systemd:/\n8:pids:/cgproc-fixture/app\n7:blkio:/cgproc-fixture/app\n"
		 "6:freezer:/\n5:devices:/\n4:memory:%s\n3:cpuset:/cgproc-fixture/app\n"
		 "2:cpuacct:/cgproc-fixture/app\n1:cpu:/cgproc-fixture/app\n",
		 path);
	put(file, text);
}

/* Nothing a reader of process 200 gets may come from a canary. */
static void check_refused(const char *what, const char *override)
{
	struct cgproc_config cfg;
	struct cg_machine m;
	struct cg_memory mem;
	char buf[4096];
	size_t len = 0;
	int r;

	config_defaults(&cfg);
	r = cg_machine_find(&src, 200, override, &m);
	if (r < 0) {
		cr_log_info("ESCAPE %s: cg_machine_find refused (%d)", what, r);
		return;
	}
	r = cg_read(&src, &m, CG_MEMORY, "memory.limit_in_bytes", buf, sizeof(buf), &len);
	cr_expect(r < 0 || strstr(buf, CANARY_LIMIT) == NULL, "%s: cg_read got the canary", what);
	cr_log_info("ESCAPE %s: machine memory path %s, cg_read -> %d", what,
		    cg_machine_path(&m, CG_MEMORY), r);
	r = cg_read_memory(&src, &m, &mem);
	cr_expect(r < 0 || mem.limit != 4242424242ULL, "%s: cg_read_memory got the canary", what);
	vfile_foreach (vf) {
		char *text = NULL;
		size_t n = 0;

		fixture_render(&src, &m, &cfg, vf, 200, &text, &n);
		/* rendered text is (text, n), not NUL-terminated */
		cr_expect(!text || !memmem(text, n, CANARY_KB, strlen(CANARY_KB)),
			  "%s: %s shows the canary:\n%.*s", what, vf->name, (int)n, text);
		free(text);
	}
	{
		struct sysinfo si = {.totalram = 1ULL << 40, .mem_unit = 1};
		struct vfile_req req = {.src = &src, .machine = &m, .config = &cfg, .pid = 200};
		static char scratch[1 << 20];

		req.scratch = scratch;
		req.scratch_size = sizeof(scratch);
		vfile_sysinfo(&req, &si);
		cr_expect_neq((unsigned long long)si.totalram * si.mem_unit, 4242424242ULL,
			      "%s: sysinfo shows the canary", what);
	}
}

/* The canaries are real: reached through a sane path they are read (else the test proves
 * nothing). */
Test(escape, canary_reachable)
{
	char link[512];
	struct cg_machine m;
	char buf[256];
	size_t len;

	snprintf(link, sizeof(link), "%s/sys/fs/cgroup/memory/legit", tree);
	cr_assert_eq(rename(outside, link), 0);
	set_memory_path("/legit/cgproc-fixture/app");
	cr_assert_eq(cg_machine_find(&src, 200, NULL, &m), 0);
	cr_assert_eq(cg_read(&src, &m, CG_MEMORY, "memory.limit_in_bytes", buf, sizeof(buf), &len),
		     0);
	cr_assert_not_null(strstr(buf, CANARY_LIMIT));
	cr_assert_eq(rename(link, outside), 0);
}

Test(escape, dotdot_inside_root)
{
	set_memory_path("/../../../../etc/cgproc-fixture/app");
	check_refused("cgroup path /../../../../etc (inside the root fd)", NULL);
}

Test(escape, dotdot_outside_root)
{
	set_memory_path("/../../../../../outside/cgproc-fixture/app");
	check_refused("cgroup path /../../../../../outside (above the root fd)", NULL);
}

Test(escape, dotdot_after_prefix)
{
	set_memory_path("/cgproc-fixture/app/../../../../../../outside");
	check_refused("cgroup path /cgproc-fixture/app/../../../../../../outside", NULL);
}

Test(escape, symlink_relative)
{
	char link[512];

	snprintf(link, sizeof(link), "%s/sys/fs/cgroup/memory/evil", tree);
	cr_assert_eq(symlink("../../../../../outside", link), 0);
	set_memory_path("/evil/cgproc-fixture/app");
	check_refused("cgroup dir is a relative symlink out of the tree", NULL);
}

Test(escape, symlink_absolute)
{
	char link[512];

	snprintf(link, sizeof(link), "%s/sys/fs/cgroup/memory/evil", tree);
	cr_assert_eq(symlink(outside, link), 0);
	set_memory_path("/evil/cgproc-fixture/app");
	check_refused("cgroup dir is an absolute symlink", NULL);
}

Test(escape, symlink_file)
{
	char path[512], target[512];

	/* The cgroup is sane, its limit file is a symlink to the canary's. */
	snprintf(path, sizeof(path),
		 "%s/sys/fs/cgroup/memory/cgproc-fixture/app/memory.limit_in_bytes", tree);
	snprintf(target, sizeof(target), "%s/memory.limit_in_bytes", outside);
	unlink(path);
	cr_assert_eq(symlink(target, path), 0);
	set_memory_path("/cgproc-fixture/app");
	check_refused("cgroup file is a symlink", NULL);
}

Test(escape, symlink_intermediate)
{
	char cmd[1024], dir[512];

	/* The hierarchy's cgproc-fixture directory becomes a symlink to the outside copy. */
	snprintf(dir, sizeof(dir), "%s/sys/fs/cgroup/memory/cgproc-fixture", tree);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/cgproc-fixture", outside);
	cr_assert_eq(symlink(cmd, dir), 0);
	set_memory_path("/cgproc-fixture/app");
	check_refused("intermediate cgroup dir is a symlink", NULL);
}

Test(escape, mountpoint_dotdot)
{
	char file[512], *text, *line;
	size_t len;
	FILE *f;

	/* proc/self is process 100: its mountinfo names the memory mount point. */
	snprintf(file, sizeof(file), "%s/proc/100/mountinfo", tree);
	text = fixture_slurp(file, &len);
	cr_assert_not_null(text);
	f = fopen(file, "we");
	cr_assert_not_null(f);
	for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (strstr(line, " /sys/fs/cgroup/memory "))
			fprintf(f, "35 31 0:32 / /sys/fs/cgroup/../../../../outside rw,relatime - "
				   "cgroup cgroup rw,memory\n");
		else
			fprintf(f, "%s\n", line);
	}
	fclose(f);
	free(text);
	set_memory_path("/cgproc-fixture/app");
	check_refused("memory mount point /sys/fs/cgroup/../../../../outside", NULL);
}

Test(escape, override_dotdot)
{
	set_memory_path("/cgproc-fixture/app");
	check_refused("machine override /../../../../../outside/cgproc-fixture/app",
		      "/../../../../../outside/cgproc-fixture/app");
}

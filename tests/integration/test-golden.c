/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Golden tests: every entry of the vfile table, rendered through the library for every case of
 * every fixture tree (tests/data/{v1,hybrid,v2}, pids 200/301/400: machine rules 4, 3, 2), must
 * equal tests/data/<tree>/expected/<pid>/<name> byte for byte. The golden files are written by
 * `cgproc show --root` (tests/data/refresh-golden.sh), so this also pins the CLI and the library
 * to the same bytes. Plus the facts each case was built to show, checked independently of the
 * golden files.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "source/internal.h"

static void check_case(const char *tree, pid_t pid, unsigned want_rule)
{
	const char *dir = fixture_dir(tree);
	struct cgproc_config cfg;
	struct cg_machine m;
	struct cg_src src;
	int r;

	cr_assert_eq(fixture_open(dir, &src), 0, "open %s", dir);
	r = cg_machine_find(&src, pid, NULL, &m);
	cr_assert_eq(r, 0, "%s pid %d: machine: %s", tree, (int)pid, strerror(-r));
	cr_expect_eq(m.rule, want_rule, "%s pid %d: rule %u, want %u", tree, (int)pid, m.rule,
		     want_rule);
	config_defaults(&cfg);

	vfile_foreach (vf) {
		char path[4200], *got = NULL, *want;
		size_t got_len = 0, want_len = 0;

		snprintf(path, sizeof(path), "%s/expected/%d/%s", dir, (int)pid, vf->name);
		want = fixture_slurp(path, &want_len);
		cr_assert_not_null(want, "no golden file %s (run tests/data/refresh-golden.sh)",
				   path);
		(void)fixture_render(&src, &m, &cfg, vf, pid, &got, &got_len);
		cr_assert_not_null(got, "%s: neither rendered nor host file", path);
		cr_expect(got_len == want_len && memcmp(got, want, got_len) == 0,
			  "%s differs from the library's output:\n--- got\n%s\n--- want\n%s", path,
			  got, want);
		free(got);
		free(want);
	}
	close(src.rootfd);
}

Test(golden, v1_rule4)
{
	check_case("v1", 200, 4);
}
Test(golden, v1_rule3)
{
	check_case("v1", 301, 3);
}
Test(golden, v1_rule2)
{
	check_case("v1", 400, 2);
}
Test(golden, hybrid_rule4)
{
	check_case("hybrid", 200, 4);
}
Test(golden, hybrid_rule3)
{
	check_case("hybrid", 301, 3);
}
Test(golden, hybrid_rule2)
{
	check_case("hybrid", 400, 2);
}
Test(golden, v2_rule4)
{
	check_case("v2", 200, 4);
}
Test(golden, v2_rule3)
{
	check_case("v2", 301, 3);
}
Test(golden, v2_rule2)
{
	check_case("v2", 400, 2);
}

/* The facts the cases were built for, from the fixtures' own limits (not from golden files). */
static void machine_of(const char *tree, pid_t pid, struct cg_src *src, struct cg_machine *m)
{
	cr_assert_eq(fixture_open(fixture_dir(tree), src), 0);
	cr_assert_eq(cg_machine_find(src, pid, NULL, m), 0);
}

/*
 * The compact machine (source.h): a lookup writes only the header and the used start of the pool
 * (the shim lends the rest out as request memory), the used part of every fixture's machine fits
 * well within a page, and a copy reads the same strings from its own pool.
 */
Test(facts, machine_compact)
{
	static const struct {
		const char *tree;
		pid_t pid;
	} cases[] = {{"v1", 200},     {"v1", 301}, {"v1", 400}, {"hybrid", 200}, {"hybrid", 301},
		     {"hybrid", 400}, {"v2", 200}, {"v2", 301}, {"v2", 400}};
	static struct cg_machine m, copy;
	size_t scratch_size = 256 << 10;
	char *scratch = malloc(scratch_size);

	cr_assert(scratch);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cg_src src;
		unsigned strings = 0;
		size_t used;

		memset(&src, 0, sizeof(src)); /* no kept fds or texts */
		cr_assert_eq(fixture_open(fixture_dir(cases[i].tree), &src), 0);
		memset(&m, 0xa5, sizeof(m));
		cr_assert_eq(cg_machine_find_scratch(&src, cases[i].pid, NULL, scratch,
						     scratch_size, &m),
			     0, "%s %d", cases[i].tree, (int)cases[i].pid);
		used = cg_machine_size(&m);
		cr_expect_lt(used, 2048, "%s %d: %zu bytes used", cases[i].tree, (int)cases[i].pid,
			     used);
		for (size_t k = used; k < sizeof(m); k++)
			cr_assert_eq(((unsigned char *)&m)[k], 0xa5,
				     "%s %d: byte %zu of %zu written", cases[i].tree,
				     (int)cases[i].pid, k, used);
		memcpy(&copy, &m, used);
		for (unsigned f = 0; f < _CG_MACHINE_FIELD_MAX; f++)
			for (unsigned c = 0; c < _CG_MAX; c++) {
				const char *a = cg_machine_str(&m, f, c),
					   *b = cg_machine_str(&copy, f, c);

				cr_assert_eq(!a, !b);
				if (!a)
					continue;
				strings++;
				cr_expect_str_eq(a, b);
				cr_expect(b >= copy.pool && b < copy.pool + sizeof(copy.pool));
			}
		cr_expect_gt(strings, 0, "%s %d: no strings", cases[i].tree, (int)cases[i].pid);
		cr_expect_eq(!!cg_machine_mount(&m, CG_MEMORY), !!cg_machine_root(&m, CG_MEMORY));
		close(src.rootfd);
	}
	free(scratch);
}

Test(facts, machine_set_limits)
{
	static struct cg_machine m;
	char s[CG_PATH_MAX + 1];
	unsigned n = 0;
	int r;

	cg_machine_clear(&m);
	cr_expect_eq(cg_machine_size(&m), offsetof(struct cg_machine, pool));
	memset(s, 'a', CG_PATH_MAX);
	s[0] = '/';
	s[CG_PATH_MAX] = '\0';
	cr_expect_eq(cg_machine_set(&m, CG_MACHINE_PATH, CG_MEMORY, s), -ENAMETOOLONG);
	cr_expect_null(cg_machine_path(&m, CG_MEMORY));
	/* the pool holds every field of every controller at its longest */
	s[CG_PATH_MAX - 1] = '\0';
	for (unsigned f = 0; f < _CG_MACHINE_FIELD_MAX; f++)
		for (unsigned c = 0; c < _CG_MAX; c++) {
			s[1] = (char)('A' + n % 26);
			r = cg_machine_set(&m, f, c, s);
			cr_assert_eq(r, 0, "string %u: %d", n, r);
			n++;
		}
	cr_expect_eq(cg_machine_set(&m, CG_MACHINE_TOP, CG_CPU, "/"), -ENOSPC);
	cr_expect_eq(cg_machine_str(&m, CG_MACHINE_MOUNT, CG_MEMORY)[1], 'A');
	cr_expect_eq(strlen(cg_machine_top(&m, _CG_MAX - 1)), CG_PATH_MAX - 1);
	cr_expect_eq(cg_machine_set(&m, CG_MACHINE_TOP, CG_CPU, NULL), 0);
	cr_expect_null(cg_machine_top(&m, CG_CPU));
}

Test(facts, v2_limits)
{
	struct cg_src src;
	struct cg_machine m;
	struct cg_memory mem;
	struct cg_cpu cpu;
	char scratch[4096];
	uint64_t up, host;

	/* rule 4: web.service's own limits (256 MiB, 50000/100000, swap 128 MiB) */
	machine_of("v2", 200, &src, &m);
	cr_expect_str_eq(cg_machine_path(&m, CG_MEMORY), "/app.slice/web.service");
	cr_assert_eq(cg_read_memory(&src, &m, &mem), 0);
	cr_expect_eq(mem.limit, 268435456);
	cr_expect_eq(mem.swap_limit, 134217728);
	cr_expect_eq(mem.usage, 67108864);
	cr_assert_eq(cg_read_cpu(&src, &m, scratch, sizeof(scratch), &cpu), 0);
	cr_expect_eq(cpu.quota_us, 50000);
	cr_expect_eq(cpu.period_us, 100000);
	cr_expect_eq(cpuset_count(&cpu.visible), 4);
	/* the oldest process of the cgroup is pid 200, started at 890000 s (100 Hz ticks) */
	cr_assert_eq(cg_read_uptime(&src, &m, &up, &host), 0);
	cr_expect_eq(host, 90000050);
	cr_expect_eq(up, 90000050 - 89000000);
	/* a resolved start is kept and used, and gives the same uptime as the walk */
	cr_assert_eq(cg_machine_resolve_start(&src, &m), 0);
	cr_expect(m.start_known && !m.start_is_host);
	cr_expect_eq(m.start_ticks, 89000000);
	cr_assert_eq(cg_read_uptime(&src, &m, &up, &host), 0);
	cr_expect_eq(up, 90000050 - 89000000);
	m.start_ticks = 89500000; /* proof that the kept value, not a new walk, is used */
	cr_assert_eq(cg_read_uptime(&src, &m, &up, &host), 0);
	cr_expect_eq(up, 90000050 - 89500000);
	close(src.rootfd);

	/* rule 3: init.scope stripped; ct1's cpuset 2-3 and 1 GiB, machine.slice's 1.5 CPUs */
	machine_of("v2", 301, &src, &m);
	cr_expect_str_eq(cg_machine_path(&m, CG_MEMORY), "/machine.slice/ct1");
	cr_expect_eq(m.init_pid, 300);
	cr_assert_eq(cg_read_memory(&src, &m, &mem), 0);
	cr_expect_eq(mem.limit, 1073741824);
	cr_expect_eq(mem.swap_limit, 0);
	cr_assert_eq(cg_read_cpu(&src, &m, scratch, sizeof(scratch), &cpu), 0);
	cr_expect_eq(cpu.quota_us, 150000);
	cr_expect(cpuset_test(&cpu.visible, 2) && cpuset_test(&cpu.visible, 3) &&
		  cpuset_count(&cpu.visible) == 2);
	cr_assert_eq(cg_read_uptime(&src, &m, &up, &host), 0);
	cr_expect_eq(up, 90000050 - 80000000);
	close(src.rootfd);

	/* rule 2: the namespace root ctr, limited by pod1 above it (512 MiB, 1 CPU) */
	machine_of("v2", 400, &src, &m);
	cr_expect_str_eq(cg_machine_path(&m, CG_MEMORY), "/kubepods/pod1/ctr");
	cr_expect(m.cgroupns);
	cr_assert_eq(cg_read_memory(&src, &m, &mem), 0);
	cr_expect_eq(mem.limit, 536870912);
	cr_assert_eq(cg_read_cpu(&src, &m, scratch, sizeof(scratch), &cpu), 0);
	cr_expect_eq(cpu.quota_us, 100000);
	close(src.rootfd);
}

/* The narrower CPU readers read only what their file needs, and agree with cg_read_cpu(). */
Test(facts, cpu_readers)
{
	static const char *const trees[] = {"hybrid", "v1", "v2"};
	static const pid_t pids[] = {400, 400, 200};

	for (unsigned t = 0; t < 3; t++) {
		struct cg_src src;
		struct cg_machine m;
		struct cg_cpu all, split, total;
		char s1[4096], s2[4096], text[64], path[512];
		uint64_t usage = 0;
		size_t len;

		machine_of(trees[t], pids[t], &src, &m);
		cr_assert_eq(cg_read_cpu(&src, &m, s1, sizeof(s1), &all), 0);
		cr_assert_eq(cg_read_cpu_split(&src, &m, s2, sizeof(s2), &split), 0);
		cr_assert_eq(cg_read_cpu_total(&src, &m, &total), 0);
		/* the same limits and per-CPU split */
		cr_expect(memcmp(&split.visible, &all.visible, sizeof(all.visible)) == 0);
		cr_expect_eq(split.quota_us, all.quota_us);
		cr_expect_eq(split.usage_all.len, all.usage_all.len);
		cr_expect(memcmp(split.usage_all.p, all.usage_all.p, all.usage_all.len) == 0);
		if (all.usage_all.len > 0) {
			/* v1 with usage_all: cpuacct.stat is not read for the split */
			cr_expect_eq(split.user_ns + split.system_ns, 0, "%s", trees[t]);
			/* the total is cpuacct.usage, exactly */
			snprintf(path, sizeof(path), "sys/fs/cgroup/cpuacct%s/cpuacct.usage",
				 cg_machine_path(&m, CG_CPUACCT));
			cr_assert_eq(src_read(&src, path, text, sizeof(text), &len), 0, "%s", path);
			cr_assert_eq(parse_u64((struct span){text, len}, &usage), 0);
			cr_expect_eq(total.user_ns + total.system_ns, usage, "%s", trees[t]);
			/* and within a tick per field of cpuacct.stat's (USER_HZ 100) */
			cr_expect_leq(all.user_ns + all.system_ns, usage + 20000000, "%s",
				      trees[t]);
			cr_expect_geq(all.user_ns + all.system_ns + 20000000, usage, "%s",
				      trees[t]);
		} else {
			cr_expect_eq(split.user_ns, all.user_ns);
			cr_expect_eq(split.system_ns, all.system_ns);
			cr_expect_eq(total.user_ns + total.system_ns, all.user_ns + all.system_ns);
		}
		close(src.rootfd);
	}
}

/* meminfo's key (vfile.h): known only for a kept host text, equal for equal inputs, different
 * for another machine, and a render given an equal key writes nothing. */
static int render_keyed(const struct cg_src *src, const struct cg_machine *m,
			const struct vfile_key *same, struct vfile_key *key, char *out, size_t size,
			size_t *ret_len)
{
	static char scratch[1 << 16];
	struct vfile_req req = {.src = src,
				.machine = m,
				.scratch = scratch,
				.scratch_size = sizeof(scratch),
				.key = key,
				.same = same};
	struct buf b;
	int r;

	buf_init(&b, out, size);
	r = vfile_render(vfile_lookup("meminfo"), &req, &b);
	*ret_len = b.len;
	return r;
}

Test(facts, meminfo_key)
{
	static char text[1 << 16];
	struct src_textcache texts = {0};
	struct cg_src src;
	struct cg_machine m, other;
	struct vfile_key k1, k2, k3;
	char a[8192], b[8192];
	size_t la, lb;

	machine_of("v2", 200, &src, &m);
	/* without kept texts the host text has no generation: no key */
	cr_assert_eq(render_keyed(&src, &m, NULL, &k1, a, sizeof(a), &la), 0);
	cr_expect_eq(k1.n, 0);
	cr_assert_eq(
		src_textcache_add(&texts, "proc/meminfo", 60ull * 1000000000, text, sizeof(text)),
		0);
	src.texts = &texts;
	cr_assert_eq(render_keyed(&src, &m, NULL, &k1, a, sizeof(a), &la), 0);
	cr_assert_gt(k1.n, 1);
	cr_assert_eq(render_keyed(&src, &m, NULL, &k2, b, sizeof(b), &lb), 0);
	cr_expect(k2.n == k1.n && memcmp(k1.w, k2.w, k1.n * sizeof(k1.w[0])) == 0);
	cr_expect(la == lb && memcmp(a, b, la) == 0, "equal keys, equal bytes");
	/* given an equal key: nothing rendered */
	cr_expect_eq(render_keyed(&src, &m, &k1, &k3, b, sizeof(b), &lb), VFILE_SAME);
	cr_expect_eq(lb, 0);
	/* another machine (another limit): another key, rendered */
	cr_assert_eq(cg_machine_find(&src, 301, NULL, &other), 0);
	cr_expect_eq(render_keyed(&src, &other, &k1, &k3, b, sizeof(b), &lb), 0);
	cr_expect(k3.n == k1.n && memcmp(k1.w, k3.w, k1.n * sizeof(k1.w[0])) != 0);
	cr_expect(lb > 0 && (lb != la || memcmp(a, b, la) != 0));
	/* a new host text (the kept one aged out): another generation */
	texts.e[0].stamp_ns = 1;
	cr_expect_eq(render_keyed(&src, &m, &k1, &k3, b, sizeof(b), &lb), 0);
	cr_expect(k3.w[0] != k1.w[0] && memcmp(&k1.w[1], &k3.w[1], (k1.n - 1) * 8) == 0);
	cr_expect(lb == la && memcmp(a, b, la) == 0);
	close(src.rootfd);
}

Test(facts, captured_limits)
{
	/* capture.sh sets 256 MiB on app, 384 MiB on ct, 200 MiB on pod (above ct2) */
	static const struct {
		const char *tree;
		pid_t pid;
		uint64_t limit;
		unsigned cpus;
	} cases[] = {
		{"v1", 200, 268435456, 1},     {"v1", 301, 402653184, 1},
		{"v1", 400, 209715200, 0},     {"hybrid", 200, 268435456, 1},
		{"hybrid", 301, 402653184, 1}, {"hybrid", 400, 209715200, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cg_src src;
		struct cg_machine m;
		struct cg_memory mem;
		struct cg_cpu cpu;

		machine_of(cases[i].tree, cases[i].pid, &src, &m);
		cr_assert_eq(cg_read_memory(&src, &m, &mem), 0);
		cr_expect_eq(mem.limit, cases[i].limit, "%s %d: limit %llu", cases[i].tree,
			     (int)cases[i].pid, (unsigned long long)mem.limit);
		cr_assert_eq(cg_read_cpu(&src, &m, NULL, 0, &cpu), 0);
		if (cases[i].cpus)
			cr_expect_eq(cpuset_count(&cpu.visible), cases[i].cpus);
		close(src.rootfd);
	}
}

Test(facts, table_lookup)
{
	pid_t pid = -1, tid = -1;

	vfile_foreach (vf) {
		cr_expect_eq(vfile_lookup(vf->name), vf);
		cr_expect_eq(vfile_lookup(vf->path), vf);
		cr_expect_eq(vf->id, (enum vfile_id)(vf - vfile_table));
	}
	cr_expect_eq(vfile_match("/proc/123/task/456/stat", &pid, &tid),
		     &vfile_table[VFILE_PROC_PID_STAT]);
	cr_expect(pid == 123 && tid == 456);
	cr_expect_eq(vfile_match("/proc/self/stat", &pid, &tid), &vfile_table[VFILE_PROC_PID_STAT]);
	cr_expect(pid == 0 && tid == 0);
	cr_expect_null(vfile_match("/proc/123/status", NULL, NULL));
	cr_expect_null(vfile_match("/proc/12a/stat", NULL, NULL));
	cr_expect_eq(vfile_match("/proc/meminfo", NULL, NULL), &vfile_table[VFILE_PROC_MEMINFO]);
	cr_expect_null(vfile_lookup("/proc/vmstat"));
}

static struct span sp(const char *s)
{
	return (struct span){s, strlen(s)};
}

Test(facts, config_views)
{
	struct cgproc_config cfg;
	struct cg_src src;
	struct cg_machine m;
	char *text = NULL;
	size_t len = 0;
	unsigned n = 0;
	struct vfile_req req = {.src = &src, .machine = &m, .config = &cfg};

	machine_of("v2", 200, &src, &m);
	config_defaults(&cfg);
	/* web.service: cpuset 0-3, quota 0.5 CPU: the quota view shows one CPU, the first */
	cr_assert_eq(config_apply(&cfg, sp("cpu_view"), sp("quota")), 0);
	cr_assert(cfg.quota_view);
	cr_expect_eq(fixture_render(&src, &m, &cfg, vfile_lookup("cpu-online"), 200, &text, &len),
		     0);
	cr_expect(len == 2 && memcmp(text, "0\n", 2) == 0, "%.*s", (int)len, text);
	free(text);
	cr_assert_eq(vfile_nprocs(&req, false, &n), 0);
	cr_expect_eq(n, 1);
	cr_assert_eq(vfile_nprocs(&req, true, &n), 0);
	cr_expect_eq(n, 1);

	/* files=meminfo: every other file is the host's */
	config_defaults(&cfg);
	cr_assert_eq(config_apply(&cfg, sp("files"), sp("meminfo")), 0);
	cr_assert_geq(vfile_config_resolve(&cfg), 0);
	cr_expect_eq(fixture_render(&src, &m, &cfg, vfile_lookup("cpuinfo"), 200, &text, &len),
		     -ENODATA);
	free(text);
	cr_expect_eq(fixture_render(&src, &m, &cfg, vfile_lookup("meminfo"), 200, &text, &len), 0);
	free(text);

	/* enabled=no: nothing is virtual */
	config_defaults(&cfg);
	cr_assert_eq(config_apply(&cfg, sp("enabled"), sp("no")), 0);
	cr_expect_eq(fixture_render(&src, &m, &cfg, vfile_lookup("meminfo"), 200, &text, &len),
		     -ENODATA);
	free(text);
	close(src.rootfd);
}

Test(facts, sysinfo_and_load)
{
	struct cgproc_config cfg;
	struct cg_src src;
	struct cg_machine m;
	struct cg_sample sample;
	struct sysinfo si;
	char scratch[16384];
	double load[3];
	struct vfile_req req = {
		.src = &src,
		.machine = &m,
		.config = &cfg,
		.scratch = scratch,
		.scratch_size = sizeof(scratch),
	};

	machine_of("v2", 200, &src, &m);
	config_defaults(&cfg);
	memset(&si, 0, sizeof(si));
	si.totalram = 8ULL << 30;
	si.mem_unit = 1;
	cr_assert_eq(vfile_sysinfo(&req, &si), 0);
	/* 256 MiB machine, up 10000 s (the fixture's host uptime minus the process's start) */
	cr_expect_eq((uint64_t)si.totalram * si.mem_unit, 268435456);
	cr_expect_eq(si.uptime, 10000);

	/* no sampler: the host's load (1.50 1.20 0.90); with one: the sampler's */
	cr_assert_eq(vfile_loadavg(&req, load), 0);
	cr_expect(load[0] > 1.49 && load[0] < 1.51 && load[2] > 0.89 && load[2] < 0.91);
	memset(&sample, 0, sizeof(sample));
	sample.load.avg[0] = LOADAVG_FIXED_1 / 4;
	sample.load.running = 1;
	sample.load.total = 7;
	sample.mem_limit = 134217728; /* a tighter limit only the sampler sees */
	sample.swap_limit = UINT64_MAX;
	sample.quota_us = UINT64_MAX;
	req.sample = &sample;
	cr_assert_eq(vfile_loadavg(&req, load), 0);
	cr_expect(load[0] > 0.24 && load[0] < 0.26 && load[1] == 0);
	{
		char out[256];
		struct buf b;

		buf_init(&b, out, sizeof(out));
		cr_assert_eq(vfile_render(vfile_lookup("loadavg"), &req, &b), 0);
		cr_expect(b.len > 0 && strncmp(out, "0.25 0.00 0.00 1/7 123456\n", b.len) == 0,
			  "%.*s", (int)b.len, out);
	}
	memset(&si, 0, sizeof(si));
	si.mem_unit = 1;
	cr_assert_eq(vfile_sysinfo(&req, &si), 0);
	cr_expect_eq((uint64_t)si.totalram * si.mem_unit, 134217728);
	close(src.rootfd);
}

Test(facts, cgroup_paths)
{
	const char *mnt = "sys/fs/cgroup/memory", *root = "/docker/abc";
	char out[256];
	uint64_t cs;

	/* a mount of a subtree (a container without cgroupns): paths are made relative to it */
	cr_assert_eq(cg_path_at(mnt, root, "/docker/abc/sub", "memory.max", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "sys/fs/cgroup/memory/sub/memory.max");
	cr_assert_eq(cg_path_at(mnt, root, "/docker/abc", NULL, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "sys/fs/cgroup/memory");
	cr_expect_eq(cg_path_at(mnt, root, "/docker/abcd", NULL, out, sizeof(out)), -EXDEV);
	cr_expect_eq(cg_path_at(mnt, root, "/docker/abc/../x", NULL, out, sizeof(out)), -EXDEV);
	cr_expect_eq(cg_path_at(NULL, NULL, "/", NULL, out, sizeof(out)), -ENODATA);
	cr_expect_eq(cg_path_at(mnt, root, "/docker/abc/sub", "memory.max", out, 20),
		     -ENAMETOOLONG);

	cr_assert_eq(uptime_parse_cs((struct span){"350735.47 1.00\n", 15}, &cs), 0);
	cr_expect_eq(cs, 35073547);
	cr_assert_eq(uptime_parse_cs((struct span){"12.3 4", 6}, &cs), 0);
	cr_expect_eq(cs, 1230);
	cr_expect_eq(uptime_parse_cs((struct span){"-1.00 2", 7}, &cs), -EINVAL);
	cr_expect_eq(uptime_parse_cs((struct span){"1.x0 2", 6}, &cs), -EINVAL);
}

/* cg_read_memory_scratch() reading only some parts gives exactly those parts of the full read. */
Test(facts, memory_parts)
{
	static const struct {
		const char *tree;
		pid_t pid;
	} cases[] = {{"v1", 200},     {"v1", 301}, {"v1", 400}, {"hybrid", 200},
		     {"hybrid", 400}, {"v2", 200}, {"v2", 301}, {"v2", 400}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cg_src src;
		struct cg_machine m;
		struct cg_memory full, part;
		char scratch[8192];

		machine_of(cases[i].tree, cases[i].pid, &src, &m);
		cr_assert_eq(cg_read_memory(&src, &m, &full), 0);

		cr_assert_eq(cg_read_memory_scratch(&src, &m, CG_MEM_SWAP, scratch, sizeof(scratch),
						    &part),
			     0);
		cr_expect_eq(part.swap_accounted, full.swap_accounted, "%s %d", cases[i].tree,
			     (int)cases[i].pid);
		cr_expect_eq(part.swap_limit, full.swap_limit);
		cr_expect_eq(part.swap_usage, full.swap_usage);

		cr_assert_eq(cg_read_memory_scratch(&src, &m, CG_MEM_STAT, scratch, sizeof(scratch),
						    &part),
			     0);
		cr_expect_eq(part.limit, full.limit);
		cr_expect_eq(part.usage, full.usage);
		cr_expect(memcmp(&part.stat, &full.stat, sizeof(part.stat)) == 0);
		cr_expect(!part.swap_accounted && part.swap_usage == 0 &&
			  part.swap_limit == UINT64_MAX);

		/* nothing asked: nothing read, no limit */
		cr_assert_eq(cg_read_memory_scratch(&src, &m, 0, NULL, 0, &part), 0);
		cr_expect(part.limit == UINT64_MAX && !part.swap_accounted);
		/* memory.stat does not fit */
		cr_expect_eq(cg_read_memory_scratch(&src, &m, CG_MEM_STAT, scratch, 16, &part),
			     -ENOBUFS);
		cr_expect_eq(cg_read_memory_scratch(&src, &m, CG_MEM_STAT, NULL, 0, &part),
			     -ENOBUFS);
		cr_expect_eq(cg_read_memory_scratch(&src, &m, 4, scratch, sizeof(scratch), &part),
			     -EINVAL);
		close(src.rootfd);
	}
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of configuration parsing (model/config.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "model/config.h"

static struct span S(const char *s) {
	return (struct span){s, strlen(s)};
}

/* A stand-in for vfile.c's name table, with a gap. */
static const char *const names[] = {"meminfo", "cpuinfo", NULL, "stat", "uptime", "loadavg"};
#define N (sizeof(names) / sizeof(names[0]))

Test(config, defaults)
{
	struct cgproc_config c;

	memset(&c, 0x5a, sizeof(c));
	config_defaults(&c);
	cr_assert(c.enabled);
	cr_assert_not(c.quota_view);
	cr_assert_eq(c.files, UINT64_MAX);
	cr_assert_str_eq(c.files_list, "all");
	cr_assert_str_eq(c.machine, "");
	cr_assert_str_eq(c.rundir, CGPROC_RUNDIR_DEFAULT);
	cr_assert_str_eq(c.log, "");
	cr_assert_eq(c.reuse_ms, CGPROC_REUSE_MS_DEFAULT);
}

Test(config, reuse_ms)
{
	struct cgproc_config c;

	config_defaults(&c);
	cr_assert_eq(config_apply(&c, S("REUSE_MS"), S("0")), 0);
	cr_assert_eq(c.reuse_ms, 0);
	cr_assert_eq(config_apply(&c, S("reuse_ms"), S(" 1000 ")), 0);
	cr_assert_eq(c.reuse_ms, 1000);
	/* refused values leave the last good one */
	cr_assert_eq(config_apply(&c, S("reuse_ms"), S("1001")), -EINVAL);
	cr_assert_eq(config_apply(&c, S("reuse_ms"), S("-1")), -EINVAL);
	cr_assert_eq(config_apply(&c, S("reuse_ms"), S("10ms")), -EINVAL);
	cr_assert_eq(config_apply(&c, S("reuse_ms"), S("")), -EINVAL);
	cr_assert_eq(config_apply(&c, S("reuse_ms"), S("99999999999999999999999")), -EINVAL);
	cr_assert_eq(c.reuse_ms, 1000);
}

Test(config, apply_pairs_env_form)
{
	struct cgproc_config c;

	config_defaults(&c);
	cr_assert_eq(config_apply(&c, S("CPU_VIEW"), S("quota")), 0);
	cr_assert(c.quota_view);
	cr_assert_eq(config_apply(&c, S("cpu_view"), S("CPUSET")), 0);
	cr_assert_not(c.quota_view);
	cr_assert_eq(config_apply(&c, S("ENABLED"), S("no")), 0);
	cr_assert_not(c.enabled);
	cr_assert_eq(config_apply(&c, S("Enabled"), S("1")), 0);
	cr_assert(c.enabled);
	cr_assert_eq(config_apply(&c, S("MACHINE"), S("/lxc/c1")), 0);
	cr_assert_str_eq(c.machine, "/lxc/c1");
	cr_assert_eq(config_apply(&c, S("RUNDIR"), S("/tmp/x")), 0);
	cr_assert_str_eq(c.rundir, "/tmp/x");
	cr_assert_eq(config_apply(&c, S("LOG"), S("/tmp/cgproc.log")), 0);
	cr_assert_str_eq(c.log, "/tmp/cgproc.log");
	cr_assert_eq(config_apply(&c, S("log"), S("")), 0, "empty log = off");
	cr_assert_str_eq(c.log, "");
	cr_assert_eq(config_apply(&c, S("FILES"), S("meminfo, STAT")), 0);
	cr_assert_str_eq(c.files_list, "meminfo, STAT");
	cr_assert_eq(c.files, UINT64_MAX, "not resolved yet");
	cr_assert_eq(config_files_resolve(&c, names, N), 0);
	cr_assert_eq(c.files, (1u << 0) | (1u << 3));
}

Test(config, apply_bad_values)
{
	struct cgproc_config c, before;
	char longpath[600];

	config_defaults(&c);
	before = c;
	cr_assert_eq(config_apply(&c, S("cpu_view"), S("quotas")), -EINVAL);
	cr_assert_eq(config_apply(&c, S("enabled"), S("maybe")), -EINVAL);
	cr_assert_eq(config_apply(&c, S("enabled"), S("")), -EINVAL);
	cr_assert_eq(config_apply(&c, S("rundir"), S("")), -EINVAL);
	cr_assert_eq(config_apply(&c, S("rundir"), S("relative/dir")), -EINVAL);
	cr_assert_eq(config_apply(&c, S("machine"), S("no-slash")), -EINVAL);
	cr_assert_eq(config_apply(&c, S("files"), S("")), -EINVAL);
	cr_assert_eq(config_apply(&c, S("files"), S("meminfo,,stat")), -EINVAL);
	cr_assert_eq(config_apply(&c, S("files"), S("meminfo;rm -rf")), -EINVAL);
	cr_assert_eq(config_apply(&c, S("cpu"), S("quota")), -EINVAL, "unknown key");
	cr_assert_eq(config_apply(&c, S("cpu_view_x"), S("quota")), -EINVAL);
	cr_assert_eq(config_apply(&c, S(""), S("")), -EINVAL);
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	cr_assert_eq(config_apply(&c, S("machine"), (struct span){longpath, sizeof(longpath)}),
		     -EINVAL, "does not fit");
	cr_assert_eq(config_apply(&c, S("rundir"), (struct span){longpath, 256}), -EINVAL);
	cr_assert_eq(config_apply(&c, S("rundir"), (struct span){"/a\0b", 4}), -EINVAL);
	cr_assert_eq(memcmp(&c, &before, sizeof(c)), 0, "bad values change nothing");
	cr_assert_eq(config_apply(&c, S("rundir"), (struct span){longpath, 255}), 0,
		     "longest that fits");
	cr_assert_eq(strlen(c.rundir), 255);
}

Test(config, text)
{
	struct cgproc_config c;
	const char *t = "# cgproc.conf\n"
			"\n"
			"  enabled = yes\n"
			"cpu_view=quota\r\n"
			"files = \"meminfo,uptime\"\n"
			"machine = /docker/abc#def\n"
			"unknown_future_key = 1\n"
			"cpu_view = sideways\n"
			"just garbage\n"
			"= novalue\n"
			"log = /var/log/cgproc.log"; /* no final newline */

	config_defaults(&c);
	cr_assert_eq(config_apply_text(&c, S(t)), 4, "4 lines skipped");
	cr_assert(c.enabled);
	cr_assert(c.quota_view, "a bad later value keeps the earlier good one");
	cr_assert_str_eq(c.files_list, "meminfo,uptime");
	cr_assert_str_eq(c.machine, "/docker/abc#def");
	cr_assert_str_eq(c.log, "/var/log/cgproc.log");
	cr_assert_str_eq(c.rundir, CGPROC_RUNDIR_DEFAULT);
	cr_assert_eq(config_files_resolve(&c, names, N), 0);
	cr_assert_eq(c.files, (1u << 0) | (1u << 4));

	config_defaults(&c);
	cr_assert_eq(config_apply_text(&c, S("")), 0, "empty file");
	cr_assert_eq(config_apply_text(&c, S("\n\n#\n   \n")), 0);
	cr_assert(c.enabled);
}

Test(config, files_parse)
{
	uint64_t m = 7;

	cr_assert_eq(config_files_parse(S("all"), names, N, &m), 0);
	cr_assert_eq(m, UINT64_MAX);
	cr_assert_eq(config_files_parse(S(" ALL "), names, N, &m), 0);
	cr_assert_eq(m, UINT64_MAX);
	cr_assert_eq(config_files_parse(S("loadavg"), names, N, &m), 0);
	cr_assert_eq(m, 1u << 5);
	cr_assert_eq(config_files_parse(S("cpuinfo , meminfo,meminfo"), names, N, &m), 0);
	cr_assert_eq(m, 3);
	/* unknown names are counted and skipped: a newer file on an older shim */
	cr_assert_eq(config_files_parse(S("meminfo,pressure,zz"), names, N, &m), 2);
	cr_assert_eq(m, 1);
	m = 7;
	cr_assert_eq(config_files_parse(S(""), names, N, &m), -EINVAL);
	cr_assert_eq(config_files_parse(S("  "), names, N, &m), -EINVAL);
	cr_assert_eq(config_files_parse(S("meminfo,"), names, N, &m), -EINVAL);
	cr_assert_eq(config_files_parse(S(",meminfo"), names, N, &m), -EINVAL);
	cr_assert_eq(m, 7, "ret untouched on failure");
	/* an empty table knows no names */
	cr_assert_eq(config_files_parse(S("meminfo"), NULL, 0, &m), 1);
	cr_assert_eq(m, 0);
}

/* An environ block: NUL-separated entries, the last one possibly without its NUL. */
#define BLOCK(lit) ((struct span){lit, sizeof(lit) - 1})

Test(config, environ_block_allowlist)
{
	static const char env[] = "PATH=/bin\0CGPROC_RUNDIR=/tmp/x\0CGPROC_CPU_VIEW=quota\0"
				  "CGPROC_LOG=/tmp/log\0CGPROC_MACHINE=/a\0CGPROC_REUSE_MS=0\0"
				  "CGPROC_ENABLED=no\0CGPROC_FILES=meminfo";
	struct cgproc_config c;
	unsigned set;

	config_defaults(&c);
	set = config_apply_environ(&c, BLOCK(env), CONFIG_KEYS_CALLER);
	cr_assert_eq(set, CONFIG_KEY_CPU_VIEW | CONFIG_KEY_MACHINE | CONFIG_KEY_REUSE_MS |
				  CONFIG_KEY_ENABLED | CONFIG_KEY_FILES);
	/* the keys that name host paths are left alone */
	cr_assert_str_eq(c.rundir, CGPROC_RUNDIR_DEFAULT);
	cr_assert_str_eq(c.log, "");
	cr_assert(c.quota_view);
	cr_assert_str_eq(c.machine, "/a");
	cr_assert_eq(c.reuse_ms, 0);
	cr_assert_not(c.enabled);
	cr_assert_str_eq(c.files_list, "meminfo"); /* the last entry, without its NUL */

	config_defaults(&c);
	set = config_apply_environ(&c, BLOCK(env), CONFIG_KEYS_ALL);
	cr_assert_eq(set & (CONFIG_KEY_RUNDIR | CONFIG_KEY_LOG),
		     CONFIG_KEY_RUNDIR | CONFIG_KEY_LOG);
	cr_assert_str_eq(c.rundir, "/tmp/x");
	cr_assert_str_eq(c.log, "/tmp/log");
}

Test(config, environ_block_first_wins_and_odd_entries)
{
	/* getenv() semantics: the first of two entries of a name; a bad first one hides the
	 * second; names are upper case; entries without '=' and foreign prefixes are skipped */
	static const char env[] = "CGPROC_CPU_VIEW=quota\0CGPROC_CPU_VIEW=cpuset\0"
				  "CGPROC_REUSE_MS=5000\0CGPROC_REUSE_MS=7\0cgproc_enabled=no\0"
				  "CGPROC_ENABLED\0CGPROC_\0CGPROCX_FILES=stat\0";
	struct cgproc_config c;
	unsigned set;

	config_defaults(&c);
	set = config_apply_environ(&c, BLOCK(env), CONFIG_KEYS_ALL);
	cr_assert_eq(set, CONFIG_KEY_CPU_VIEW);
	cr_assert(c.quota_view);
	cr_assert_eq(c.reuse_ms, CGPROC_REUSE_MS_DEFAULT);
	cr_assert(c.enabled);
	cr_assert_str_eq(c.files_list, "all");
	cr_assert_eq(config_apply_environ(&c, (struct span){"", 0}, CONFIG_KEYS_ALL), 0);
}

Test(config, file_trust_rule)
{
	cr_assert(config_file_trusted(0, S_IFREG | 0644));
	cr_assert(config_file_trusted(0, S_IFREG | 0600));
	cr_assert_not(config_file_trusted(1000, S_IFREG | 0644), "not root's");
	cr_assert_not(config_file_trusted(0, S_IFREG | 0664), "group-writable");
	cr_assert_not(config_file_trusted(0, S_IFREG | 0646), "world-writable");
	cr_assert_not(config_file_trusted(0, S_IFIFO | 0644), "not a regular file");
	cr_assert_not(config_file_trusted(0, S_IFDIR | 0755), "a directory");
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the mountinfo and /proc/<pid>/cgroup parsers (model/cgpath.c) on hybrid (this
 * machine, copied verbatim), pure v2 and v1 (systemd-style, cpu,cpuacct co-mounted) hosts.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model/cgpath.h"

static struct span S(const char *s) {
	return (struct span){s, strlen(s)};
}

/* This machine (hybrid): /proc/self/mountinfo and /proc/self/cgroup, verbatim. */
static const char hybrid_mountinfo[] =
	"22 27 0:21 / /proc rw,relatime - proc proc rw\n"
	"23 27 0:22 / /sys rw,relatime - sysfs sysfs rw\n"
	"24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs "
	"rw,size=12334460k,nr_inodes=3083615,mode=755\n"
	"25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684084k\n"
	"26 24 0:24 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000\n"
	"27 1 254:0 / / rw,relatime - ext4 /dev/vda "
	"rw,discard,resv_strict,resuid=65534,resgid=65534\n"
	"28 27 0:25 / /mnt/sandboxing/model_tools_env/v1/python ro,nosuid,nodev,relatime - tmpfs "
	"model_tools_unavailable ro,size=4k,mode=755\n"
	"29 26 0:26 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000\n"
	"30 25 0:27 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684084k\n"
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
	"34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
	"37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
	"38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static const char hybrid_cgroup[] = "9:name=systemd:/\n"
				    "8:pids:/\n"
				    "7:blkio:/\n"
				    "6:freezer:/\n"
				    "5:devices:/\n"
				    "4:memory:/process_api/53dcee8a95840aba6b333f97ccda63e0\n"
				    "3:cpuset:/\n"
				    "2:cpuacct:/\n"
				    "1:cpu:/\n"
				    "0::/\n";

/* Pure v2 (Debian 12 / systemd 252 default). */
static const char v2_mountinfo[] =
	"22 28 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
	"25 28 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n"
	"27 25 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
	"rw,nsdelegate,memory_recursiveprot\n";
static const char v2_cgroup[] = "0::/user.slice/user-1000.slice/session-2.scope\n";

/* v1, systemd style: cpu,cpuacct co-mounted, named systemd hierarchy, a cgroup2 unified mount
 * without controllers, and a second memory mount inside a container (root not "/"). */
static const char v1_mountinfo[] =
	"24 18 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
	"25 24 0:21 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 "
	"cgroup2 rw,nsdelegate\n"
	"26 24 0:22 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup "
	"cgroup rw,xattr,name=systemd\n"
	"99 24 0:26 /lxc/c1 /var/lib/lxc/c1/memory rw,relatime - cgroup cgroup rw,memory\n"
	"29 24 0:25 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup "
	"cgroup rw,memory\n"
	"30 24 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - "
	"cgroup cgroup rw,cpu,cpuacct\n"
	"31 24 0:27 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:16 - cgroup "
	"cgroup rw,cpuset,clone_children\n"
	"32 24 0:28 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:17 - cgroup "
	"cgroup rw,blkio\n";
static const char v1_cgroup[] = "12:pids:/system.slice/foo.service\n"
				"11:cpuset:/\n"
				"10:blkio:/system.slice/foo.service\n"
				"4:cpu,cpuacct:/system.slice/foo.service\n"
				"3:memory:/system.slice/foo.service\n"
				"1:name=systemd:/system.slice/foo.service\n"
				"0::/system.slice/foo.service\n";

Test(mountinfo, this_host_hybrid)
{
	static struct cg_mounts m;

	cr_assert_eq(mountinfo_parse_cgroups(S(hybrid_mountinfo), &m), 0);
	cr_assert(m.present[CG_MEMORY] && !m.v2[CG_MEMORY]);
	cr_assert_str_eq(m.mount[CG_MEMORY], "sys/fs/cgroup/memory");
	cr_assert_str_eq(m.root[CG_MEMORY], "/");
	cr_assert_str_eq(m.mount[CG_CPU], "sys/fs/cgroup/cpu");
	cr_assert_str_eq(m.mount[CG_CPUACCT], "sys/fs/cgroup/cpuacct");
	cr_assert_str_eq(m.mount[CG_CPUSET], "sys/fs/cgroup/cpuset");
	cr_assert_str_eq(m.mount[CG_IO], "sys/fs/cgroup/blkio");
	cr_assert_str_eq(m.mount[CG_PIDS], "sys/fs/cgroup/pids");
	for (int c = 0; c < CG_UNIFIED; c++)
		cr_assert(!m.v2[c], "%s must stay v1 on a hybrid host", cg_controller_name(c));
	cr_assert(m.present[CG_UNIFIED] && m.v2[CG_UNIFIED]);
	cr_assert_str_eq(m.mount[CG_UNIFIED], "sys/fs/cgroup/unified");
}

Test(mountinfo, pure_v2)
{
	static struct cg_mounts m;

	cr_assert_eq(mountinfo_parse_cgroups(S(v2_mountinfo), &m), 0);
	for (int c = 0; c < _CG_MAX; c++) {
		cr_assert(m.present[c] && m.v2[c]);
		cr_assert_str_eq(m.mount[c], "sys/fs/cgroup");
		cr_assert_str_eq(m.root[c], "/");
	}
}

Test(mountinfo, v1_comounted_and_second_mount)
{
	static struct cg_mounts m;

	cr_assert_eq(mountinfo_parse_cgroups(S(v1_mountinfo), &m), 0);
	cr_assert_str_eq(m.mount[CG_CPU], "sys/fs/cgroup/cpu,cpuacct");
	cr_assert_str_eq(m.mount[CG_CPUACCT], "sys/fs/cgroup/cpu,cpuacct");
	cr_assert(!m.v2[CG_CPU] && !m.v2[CG_CPUACCT]);
	/* the container's memory mount came first but its root is not "/" */
	cr_assert_str_eq(m.mount[CG_MEMORY], "sys/fs/cgroup/memory");
	cr_assert_str_eq(m.root[CG_MEMORY], "/");
	cr_assert_str_eq(m.mount[CG_CPUSET], "sys/fs/cgroup/cpuset");
	/* pids has no v1 mount: it falls to the unified hierarchy */
	cr_assert(m.present[CG_PIDS] && m.v2[CG_PIDS]);
	cr_assert_str_eq(m.mount[CG_PIDS], "sys/fs/cgroup/unified");
	cr_assert_str_eq(m.mount[CG_UNIFIED], "sys/fs/cgroup/unified");
}

Test(mountinfo, only_nonroot_mount_and_escapes)
{
	static struct cg_mounts m;

	cr_assert_eq(mountinfo_parse_cgroups(S("1 0 0:1 /lxc/c\\0401 /mnt/my\\040cg rw - cgroup "
					       "cgroup rw,memory\n"),
					     &m),
		     0);
	cr_assert(m.present[CG_MEMORY]);
	cr_assert_str_eq(m.mount[CG_MEMORY], "mnt/my cg");
	cr_assert_str_eq(m.root[CG_MEMORY], "/lxc/c 1");
	cr_assert_not(m.present[CG_CPU]);
	cr_assert_not(m.present[CG_UNIFIED]);
}

Test(mountinfo, hostile)
{
	static struct cg_mounts m, keep;
	static char longline[4096];
	size_t n;

	memset(&keep, 0xab, sizeof(keep));
	m = keep;
	cr_assert_eq(mountinfo_parse_cgroups(S(""), &m), -ENOENT);
	cr_assert_eq(mountinfo_parse_cgroups(S("22 27 0:21 / /proc rw - proc proc rw\n"), &m),
		     -ENOENT);
	/* truncated lines, no separator, separator at the end, name=systemd only */
	cr_assert_eq(mountinfo_parse_cgroups(S("1 2 3 / /x rw cgroup cgroup rw,memory\n"
					       "1 2 3 / /x\n"
					       "1 2 3 / /x rw -\n"
					       "1 2 3 / /x rw - cgroup\n"),
					     &m),
		     -ENOENT);
	cr_assert(memcmp(&m, &keep, sizeof(m)) == 0, "written on failure");
	cr_assert_eq(
		mountinfo_parse_cgroups(S("1 2 3 / /s rw - cgroup cgroup rw,name=systemd\n"), &m),
		0);
	for (int c = 0; c < _CG_MAX; c++)
		cr_assert_not(m.present[c], "name=systemd is not %s", cg_controller_name(c));
	/* "name=memory" or "memoryx" are not the memory controller */
	cr_assert_eq(mountinfo_parse_cgroups(S("1 2 3 / /s rw - cgroup cgroup "
					       "rw,name=memory,memoryx\n"),
					     &m),
		     0);
	cr_assert_not(m.present[CG_MEMORY]);
	/* a trailing backslash escape cut short stays literal */
	cr_assert_eq(mountinfo_parse_cgroups(S("1 2 3 / /a\\04 rw - cgroup cgroup memory"), &m), 0);
	cr_assert_str_eq(m.mount[CG_MEMORY], "a\\04");
	/* overlong mount point */
	m = keep;
	n = (size_t)sprintf(longline, "1 2 3 / /");
	memset(longline + n, 'a', CG_PATH_MAX);
	n += CG_PATH_MAX;
	strcpy(longline + n, " rw - cgroup cgroup rw,memory\n");
	cr_assert_eq(mountinfo_parse_cgroups(S(longline), &m), -ENAMETOOLONG);
	cr_assert(memcmp(&m, &keep, sizeof(m)) == 0, "written on failure");
	/* exactly CG_PATH_MAX - 1 characters after the '/' fits */
	n = (size_t)sprintf(longline, "1 2 3 / /");
	memset(longline + n, 'b', CG_PATH_MAX - 1);
	n += CG_PATH_MAX - 1;
	strcpy(longline + n, " rw - cgroup cgroup rw,memory\n");
	cr_assert_eq(mountinfo_parse_cgroups(S(longline), &m), 0);
	cr_assert_eq(strlen(m.mount[CG_MEMORY]), CG_PATH_MAX - 1);
}

Test(proc_cgroup, this_host_hybrid)
{
	static struct cg_paths p;

	cr_assert_eq(proc_cgroup_parse(S(hybrid_cgroup), &p), 0);
	for (int c = 0; c < _CG_MAX; c++)
		cr_assert(p.present[c]);
	cr_assert_eq(strncmp(p.path[CG_MEMORY], "/process_api/", 13), 0, "%s", p.path[CG_MEMORY]);
	cr_assert_str_eq(p.path[CG_CPU], "/");
	cr_assert_str_eq(p.path[CG_UNIFIED], "/");
}

Test(proc_cgroup, pure_v2)
{
	static struct cg_paths p;

	cr_assert_eq(proc_cgroup_parse(S(v2_cgroup), &p), 0);
	for (int c = 0; c < _CG_MAX; c++) {
		cr_assert(p.present[c]);
		cr_assert_str_eq(p.path[c], "/user.slice/user-1000.slice/session-2.scope");
	}
}

Test(proc_cgroup, v1_comounted_and_v2_does_not_override)
{
	static struct cg_paths p;

	cr_assert_eq(proc_cgroup_parse(S("4:cpu,cpuacct:/x\n3:memory:/a/b\n0::/other\n"), &p), 0);
	cr_assert_str_eq(p.path[CG_CPU], "/x");
	cr_assert_str_eq(p.path[CG_CPUACCT], "/x");
	cr_assert_str_eq(p.path[CG_MEMORY], "/a/b");
	cr_assert_str_eq(p.path[CG_UNIFIED], "/other");
	cr_assert_str_eq(p.path[CG_PIDS], "/other", "controllers without a v1 line are v2");
	/* order does not matter: the v2 line first */
	cr_assert_eq(proc_cgroup_parse(S("0::/other\n3:memory:/a/b\n"), &p), 0);
	cr_assert_str_eq(p.path[CG_MEMORY], "/a/b");
	cr_assert_eq(proc_cgroup_parse(S(v1_cgroup), &p), 0);
	cr_assert_str_eq(p.path[CG_CPUSET], "/");
	cr_assert_str_eq(p.path[CG_IO], "/system.slice/foo.service");
}

Test(proc_cgroup, v1_without_unified)
{
	static struct cg_paths p;

	cr_assert_eq(proc_cgroup_parse(S("9:name=systemd:/\n4:memory:/a/b\n"), &p), 0);
	cr_assert(p.present[CG_MEMORY]);
	cr_assert_not(p.present[CG_CPU]);
	cr_assert_not(p.present[CG_UNIFIED]);
	/* names with ':' in the path */
	cr_assert_eq(proc_cgroup_parse(S("4:memory:/a:b:c\n"), &p), 0);
	cr_assert_str_eq(p.path[CG_MEMORY], "/a:b:c");
}

Test(proc_cgroup, hostile)
{
	static struct cg_paths p, keep;
	static char longline[CG_PATH_MAX + 32];

	memset(&keep, 0x5a, sizeof(keep));
	p = keep;
	cr_assert_eq(proc_cgroup_parse(S(""), &p), -ENOENT);
	cr_assert_eq(proc_cgroup_parse(S("garbage\n4:memory\n:memory:/x\n4:memory:relative\n"), &p),
		     -ENOENT);
	cr_assert(memcmp(&p, &keep, sizeof(p)) == 0, "written on failure");
	strcpy(longline, "4:memory:/");
	memset(longline + strlen(longline), 'x', CG_PATH_MAX);
	cr_assert_eq(proc_cgroup_parse(S(longline), &p), -ENAMETOOLONG);
	cr_assert(memcmp(&p, &keep, sizeof(p)) == 0, "written on failure");
	/* no trailing newline */
	cr_assert_eq(proc_cgroup_parse(S("4:memory:/m"), &p), 0);
	cr_assert_str_eq(p.path[CG_MEMORY], "/m");
}

Test(cg_path, strip_init_scope)
{
	char a[] = "/a/b/init.scope", b[] = "/init.scope", c[] = "/a/xinit.scope", d[] = "/";

	cg_path_strip_init_scope(a);
	cr_assert_str_eq(a, "/a/b");
	cg_path_strip_init_scope(b);
	cr_assert_str_eq(b, "/");
	cg_path_strip_init_scope(c);
	cr_assert_str_eq(c, "/a/xinit.scope");
	cg_path_strip_init_scope(d);
	cr_assert_str_eq(d, "/");
}

Test(cg_path, parent)
{
	char p[] = "/a/b/c", q[] = "/a/b/", r[] = "relative";

	cr_assert(cg_path_parent(p));
	cr_assert_str_eq(p, "/a/b");
	cr_assert(cg_path_parent(p));
	cr_assert_str_eq(p, "/a");
	cr_assert(cg_path_parent(p));
	cr_assert_str_eq(p, "/");
	cr_assert_not(cg_path_parent(p));
	cr_assert_str_eq(p, "/");
	cr_assert(cg_path_parent(q));
	cr_assert_str_eq(q, "/a");
	cr_assert_not(cg_path_parent(r));
}

Test(cg_path, controller_names)
{
	cr_assert_str_eq(cg_controller_name(CG_MEMORY), "memory");
	cr_assert_str_eq(cg_controller_name(CG_IO), "blkio");
	cr_assert_str_eq(cg_controller_name(CG_CPUACCT), "cpuacct");
	cr_assert_null(cg_controller_name(_CG_MAX));
}

Test(cgpath, mountinfo_next_fields_and_escapes)
{
	const char *text =
		"36 35 98:0 /mnt1 /mnt/my\\040disk rw,noatime master:1 - ext3 /dev/root rw\n"
		"garbage line\n"
		"40 35 0:5 / /run/a\\134b rw - fuse.cgprocfs cgprocfs rw,user_id=0";
	struct span rest = {text, strlen(text)};
	struct mountinfo_entry e;
	char buf[64];

	cr_assert(mountinfo_next(&rest, &e));
	cr_expect(span_eq(e.root, "/mnt1"));
	cr_expect(span_eq(e.fstype, "ext3"));
	cr_expect(span_eq(e.source, "/dev/root"));
	cr_expect(span_eq(e.super, "rw"));
	cr_assert_eq(mountinfo_unescape(e.mount, false, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "/mnt/my disk");
	cr_assert_eq(mountinfo_unescape(e.mount, true, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "mnt/my disk");
	/* the malformed line is skipped, the last line needs no '\n' */
	cr_assert(mountinfo_next(&rest, &e));
	cr_expect(span_eq(e.fstype, "fuse.cgprocfs"));
	cr_assert_eq(mountinfo_unescape(e.mount, false, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "/run/a\\b");
	cr_expect_eq(mountinfo_unescape(e.mount, false, buf, 5), -ENAMETOOLONG);
	cr_expect_not(mountinfo_next(&rest, &e));
}

/* A mount kept from before `unshare --cgroup`: its root's height above the namespace root, and
 * namespace-relative paths placed under the mount's root. */
Test(cgpath, root_updepth_and_rebase)
{
	char out[16];

	cr_expect_eq(cg_root_updepth("/../.."), 2);
	cr_expect_eq(cg_root_updepth("/.."), 1);
	cr_expect_eq(cg_root_updepth("/../../"), 2);
	cr_expect_eq(cg_root_updepth("/"), 0);
	cr_expect_eq(cg_root_updepth("/a/.."), 0);
	cr_expect_eq(cg_root_updepth("/../a"), 0);
	cr_expect_eq(cg_root_updepth("/..a"), 0);

	cr_assert_eq(cg_path_rebase("/n/s", "/", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/n/s");
	cr_assert_eq(cg_path_rebase("/n/s", "/leaf/x", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/n/s/leaf/x");
	cr_assert_eq(cg_path_rebase("/n/s", "/../x", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/n/x");
	cr_assert_eq(cg_path_rebase("/n/s", "/../..", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/");
	cr_expect_eq(cg_path_rebase("/n/s", "/../../..", out, sizeof(out)), -EXDEV);
	cr_expect_eq(cg_path_rebase("/n/s", "/a-long-name", out, sizeof(out)), -ENAMETOOLONG);
	cr_expect_eq(cg_path_rebase("n", "/", out, sizeof(out)), -EINVAL);
}

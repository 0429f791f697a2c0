/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kept input fds (struct src_fdcache, source.h) on a private tree: reads through kept fds
 * see new content, slots are filled from the front and reused after an invalidation, a lookup
 * dirties only the pages it uses (issue 3), paths too long to keep and missing files behave, and
 * a kept root whose number was taken over is noticed before a path is resolved through it.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/source.h"

#define MIN_FD 900

static char tmp[256];
static struct cg_src src = {.rootfd = -1};
static struct src_fdcache *cache;
static char *guard;
#define CACHE_MAP ((sizeof(struct src_fdcache) + 4095) & ~(size_t)4095)

static void put(const char *rel, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static int kept_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d)))
		if (atoi(de->d_name) >= MIN_FD)
			n++;
	closedir(d);
	return n;
}

static void close_kept(void)
{
	for (int fd = MIN_FD; fd < MIN_FD + 200; fd++)
		close(fd);
}

static void setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/cgproc-fdcache-%d-XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(tmp));
	/* fresh zeroed pages, as the shim's .bss, between two inaccessible pages (a mapping of its
	 * own, not merged with a neighbour): what a lookup dirties can be counted */
	guard = mmap(NULL, CACHE_MAP + 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(guard, MAP_FAILED);
	cache = (struct src_fdcache *)(guard + 4096);
	cr_assert_eq(mprotect(cache, CACHE_MAP, PROT_READ | PROT_WRITE), 0);
	src_fdcache_init(cache, MIN_FD);
	src.rootfd = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(src.rootfd, 0);
	src.fds = cache;
	src.texts = NULL;
	src.root_unchecked = false;
}

static void teardown(void)
{
	char cmd[512];

	close_kept();
	if (src.rootfd >= 0)
		close(src.rootfd);
	src.rootfd = -1;
	if (guard)
		munmap(guard, CACHE_MAP + 8192);
	guard = NULL;
	cache = NULL;
	if (tmp[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		(void)system(cmd);
	}
}

TestSuite(fdcache, .init = setup, .fini = teardown);

static void expect(const char *rel, const char *want)
{
	char buf[256];
	size_t len = 0;
	int r = src_read(&src, rel, buf, sizeof(buf), &len);

	cr_assert_eq(r, 0, "read %s: %d", rel, r);
	cr_assert_eq(len, strlen(want), "%s: %zu bytes", rel, len);
	cr_assert_str_eq(buf, want, "%s", rel);
}

Test(fdcache, kept_fd_reads_new_content)
{
	put("a", "1\n");
	expect("a", "1\n");
	cr_assert_eq(kept_count(), 1, "one kept fd");
	put("a", "22\n"); /* same inode, rewritten */
	expect("a", "22\n");
	cr_assert_eq(kept_count(), 1, "still one kept fd");
}

Test(fdcache, slots_filled_from_the_front_and_reused)
{
	char name[8], want[8];

	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		snprintf(want, sizeof(want), "%d\n", i);
		put(name, want);
		expect(name, want);
	}
	cr_assert_eq(atomic_load(&cache->used), 5, "5 slots used");
	src_fdcache_invalidate(cache);
	for (int i = 4; i >= 0; i--) {
		snprintf(name, sizeof(name), "f%d", i);
		snprintf(want, sizeof(want), "%d\n", i);
		expect(name, want);
	}
	cr_assert_eq(atomic_load(&cache->used), 5, "stale slots reused, none added");
	cr_assert_eq(kept_count(), 5, "old fds closed as their slots were reused");
}

/* smaps "Anonymous:" of the mapping at @addr, KiB */
static long anon_kb(const void *addr)
{
	char line[256];
	unsigned long start, end, want = (unsigned long)addr;
	bool in = false;
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = want >= start && want < end;
		else if (in && sscanf(line, "Anonymous: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

Test(fdcache, lookups_dirty_only_the_pages_they_use)
{
	char name[8];

	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "g%d", i);
		put(name, "x\n");
	}
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 8; i++) {
			snprintf(name, sizeof(name), "g%d", i);
			expect(name, "x\n");
		}
	/* slot heads (64 x 40 bytes) and 8 short paths: the first page of the cache's 8 */
	cr_assert_leq(anon_kb(cache), 4, "pages dirtied: %ld KiB of %zu", anon_kb(cache),
		      CACHE_MAP / 1024);
}

Test(fdcache, long_path_read_but_not_kept)
{
	char rel[400] = "", dir[512];
	size_t n = 0;

	/* a path of more than SRC_FDCACHE_PATH bytes through nested directories */
	while (n < SRC_FDCACHE_PATH + 20) {
		memcpy(rel + n, "dddddddddddddddddddddddddddddd/", 31);
		n += 31;
		rel[n] = '\0';
		snprintf(dir, sizeof(dir), "%s/%s", tmp, rel);
		cr_assert_eq(mkdir(dir, 0755), 0);
	}
	strcat(rel, "f");
	put(rel, "long\n");
	expect(rel, "long\n");
	cr_assert_eq(kept_count(), 0, "not kept");
	cr_assert_eq(atomic_load(&cache->used), 0, "no slot used");
}

Test(fdcache, missing_file_remembered_for_the_generation)
{
	char buf[64];

	cr_assert_eq(src_read(&src, "later", buf, sizeof(buf), NULL), -ENOENT);
	put("later", "now\n");
	cr_assert_eq(src_read(&src, "later", buf, sizeof(buf), NULL), -ENOENT,
		     "remembered as missing");
	src_fdcache_invalidate(cache);
	expect("later", "now\n");
}

/* The kept root of "/" (src_fdcache_root_hold), its number then taken by a directory of ours
 * that looks like a root: a read that must open a file goes through "/", not that directory. */
Test(fdcache, kept_root_taken_over_is_noticed)
{
	char want[256], buf[256], path[512];
	struct stat ours, st;
	size_t len = 0;
	ssize_t n;
	int fd, held, dir;

	fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	n = read(fd, want, sizeof(want) - 1);
	close(fd);
	cr_assert_gt(n, 0);
	want[n] = '\0';
	snprintf(path, sizeof(path), "%s/etc", tmp);
	cr_assert_eq(mkdir(path, 0755), 0);
	put("etc/hostname", "not-this-one\n");

	held = src_fdcache_root_hold(cache);
	cr_assert_geq(held, MIN_FD);
	close(src.rootfd);
	src.rootfd = held;
	src.root_unchecked = true;
	dir = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(dir, 0);
	cr_assert_eq(fstat(dir, &ours), 0);
	cr_assert_eq(dup2(dir, held), held, "the root's number now is our directory");
	close(dir);

	cr_assert_eq(src_read(&src, "etc/hostname", buf, sizeof(buf), &len), 0);
	cr_assert_str_eq(buf, want, "read through \"/\", not through the directory");
	cr_assert_neq(src.rootfd, held, "the request got a \"/\" of its own");
	cr_assert_not(src.root_unchecked);
	cr_assert_eq(fstat(held, &st), 0);
	cr_assert(st.st_ino == ours.st_ino && st.st_dev == ours.st_dev,
		  "the number stays ours, untouched");
	src_fdcache_root_release(cache);
	close(src.rootfd); /* the request's own "/" */
	src.rootfd = -1;
	/* the next hold opens "/" again */
	held = src_fdcache_root_hold(cache);
	cr_assert_geq(held, 0);
	cr_assert_eq(fstat(held, &st), 0);
	cr_assert(st.st_ino != ours.st_ino || st.st_dev != ours.st_dev, "a new root");
	src_fdcache_root_release(cache);
}

static void mkdirs(const char *rel)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", tmp, rel);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* The kept inputs (src->inputs, the OCI hook's clones of what cgprocfs covers): system-wide proc
 * and sys/devices/system files come from the mirror when it has them, kept or not; per-process
 * files, files the mirror lacks and every file without the option come from the root. */
Test(fdcache, inputs_mirror_serves_covered_host_files)
{
	mkdirs("proc/self");
	mkdirs("proc/7");
	mkdirs("sys/devices/system/cpu");
	mkdirs("inputs/proc/self");
	mkdirs("inputs/proc/7");
	mkdirs("inputs/sys/devices/system/cpu");
	put("proc/meminfo", "covered\n");
	put("inputs/proc/meminfo", "real\n");
	put("sys/devices/system/cpu/online", "0\n");
	put("inputs/sys/devices/system/cpu/online", "0-1\n");
	put("proc/vmstat", "plain\n");
	put("proc/self/stat", "self\n");
	put("inputs/proc/self/stat", "wrong\n");
	put("proc/7/stat", "seven\n");
	put("inputs/proc/7/stat", "wrong\n");
	for (int kept = 1; kept >= 0; kept--) {
		src.fds = kept ? cache : NULL;
		src.inputs = "inputs/";
		expect("proc/meminfo", "real\n");
		expect("/sys/devices/system/cpu/online", "0-1\n");
		expect("proc/vmstat", "plain\n");
		expect("proc/self/stat", "self\n");
		expect("proc/7/stat", "seven\n");
		src.inputs = NULL;
		if (kept)
			src_fdcache_invalidate(cache);
		expect("proc/meminfo", "covered\n");
		expect("sys/devices/system/cpu/online", "0\n");
	}
}

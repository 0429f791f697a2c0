/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which cgroup is "the machine" of a process (DESIGN.md): an override, else the cgroup-namespace
 * root, else the cgroup of the pid-namespace init (minus a trailing /init.scope), else the
 * process's own cgroup. Works from inside a container (pid 0 = self: namespace roots are "/",
 * the init is pid 1) and from the host, where the namespace root is the "root" field of the
 * process's cgroup mounts in its mountinfo (printed relative to the reader's cgroup namespace)
 * and the init is found by its NSpid.
 *
 * Namespaces are compared by the inode in the text of the proc/<pid>/ns/ links, which a fixture
 * tree can provide as plain symlinks. All I/O through the src root; no allocation.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdalign.h>
#include <string.h>
#include <unistd.h>

#include "../model/proc.h"
#include "internal.h"
#include "source.h"

#define STATUS_SIZE 4096
#define PPID_WALK_MAX 64

/* Is proc/<pid> in pid namespace @ns, and if so its NSpid tail and parent. */
static int proc_ns_status(const struct cg_src *src, pid_t pid, uint64_t ns, uint64_t *ret_nspid,
			  uint64_t *ret_ppid)
{
	char dir[32], path[48], text[STATUS_SIZE];
	uint64_t ino;
	size_t len;
	int r;

	r = procdir_name(pid, dir, sizeof(dir));
	if (r < 0)
		return r;
	r = src_ns_inode(src, dir, "pid", &ino);
	if (r < 0)
		return r;
	if (ino != ns)
		return -ESRCH;
	r = path_join(path, sizeof(path), dir, "status", NULL);
	if (r < 0)
		return r;
	r = src_read(src, path, text, sizeof(text), &len);
	if (r < 0)
		return r;
	return proc_status_parse((struct span){text, len}, ret_nspid, ret_ppid);
}

/* Host pid of the init of pid namespace @ns that @pid lives in. */
static int pidns_init_find(const struct cg_src *src, pid_t pid, uint64_t ns, pid_t *ret)
{
	alignas(8) char dents[2048];
	const struct src_dirent64 *e;
	struct src_dir dir;
	pid_t p = pid;
	int fd, r;

	/* Walk the parents while they stay in the namespace: cheap, and right unless the process
	 * joined the namespace with setns() (its parent is then outside). */
	for (unsigned i = 0; i < PPID_WALK_MAX && p > 0; i++) {
		uint64_t nspid, ppid;

		if (proc_ns_status(src, p, ns, &nspid, &ppid) < 0)
			break;
		if (nspid == 1) {
			*ret = p;
			return 0;
		}
		if (ppid == 0 || ppid > INT32_MAX)
			break;
		p = (pid_t)ppid;
	}

	/* Scan proc/ for the process of that namespace that is pid 1 in it. */
	fd = src_sys_openat(src->rootfd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fd;
	r = -ESRCH;
	dir = (struct src_dir){fd, dents, sizeof(dents), 0, 0};
	while ((e = src_dir_next(&dir))) {
		uint64_t nspid, ppid;
		pid_t q;

		if (pid_name(e->name, &q) && proc_ns_status(src, q, ns, &nspid, &ppid) == 0 &&
		    nspid == 1) {
			*ret = q;
			r = 0;
			break;
		}
	}
	src_sys_close(fd);
	return r;
}

static void paths_fill(struct cg_paths *p, const char *path)
{
	for (unsigned c = 0; c < _CG_MAX; c++) {
		p->present[c] = true;
		strncpy(p->path[c], path, CG_PATH_MAX - 1);
		p->path[c][CG_PATH_MAX - 1] = 0;
	}
}

/* Reads @dir/@name (@dir a proc/<pid> directory) into @text. */
static int proc_file_read(const struct cg_src *src, const char *dir, const char *name, char *text,
			  size_t size, struct span *ret)
{
	char path[48];
	size_t len;
	int r;

	r = path_join(path, sizeof(path), dir, name, NULL);
	if (r < 0)
		return r;
	r = src_read(src, path, text, size, &len);
	if (r < 0)
		return r;
	*ret = (struct span){text, len};
	return 0;
}

static int read_proc_cgroup(const struct cg_src *src, const char *dir, char *text, size_t size,
			    struct cg_paths *ret)
{
	struct span sp;
	int r;

	r = proc_file_read(src, dir, "cgroup", text, size, &sp);
	if (r < 0)
		return r;
	return proc_cgroup_parse(sp, ret);
}

static int read_mountinfo(const struct cg_src *src, const char *dir, char *text, size_t size,
			  struct cg_mounts *ret)
{
	struct span sp;
	int r;

	r = proc_file_read(src, dir, "mountinfo", text, size, &sp);
	if (r < 0)
		return r;
	return mountinfo_parse_cgroups(sp, ret);
}

/* The lookup's working memory: the parsers' full-size outputs (the machine keeps them compact). */
struct machine_work {
	struct cg_mounts mounts;
	struct cg_paths paths;
	struct cg_paths top;
};

void cg_machine_clear(struct cg_machine *m)
{
	memset(m, 0, offsetof(struct cg_machine, pool));
}

int cg_machine_set(struct cg_machine *m, enum cg_machine_field f, enum cg_controller c,
		   const char *s)
{
	size_t len;

	if ((unsigned)f >= _CG_MACHINE_FIELD_MAX || (unsigned)c >= _CG_MAX)
		return -EINVAL;
	if (!s) {
		m->at[f][c] = 0;
		return 0;
	}
	len = strnlen(s, CG_PATH_MAX);
	if (len >= CG_PATH_MAX)
		return -ENAMETOOLONG;
	if (len + 1 > sizeof(m->pool) - m->pool_used)
		return -ENOSPC;
	memcpy(m->pool + m->pool_used, s, len + 1);
	m->at[f][c] = (uint16_t)(m->pool_used + 1);
	m->pool_used = (uint16_t)(m->pool_used + len + 1);
	return 0;
}

/* @w's strings into @m (cleared first). Each string at most once and shorter than CG_PATH_MAX
 * (the parsers' limit): the pool cannot run out. */
static void machine_compose(const struct machine_work *w, struct cg_machine *m)
{
	cg_machine_clear(m);
	for (unsigned c = 0; c < _CG_MAX; c++) {
		if (w->mounts.present[c]) {
			(void)cg_machine_set(m, CG_MACHINE_MOUNT, c, w->mounts.mount[c]);
			(void)cg_machine_set(m, CG_MACHINE_ROOT, c, w->mounts.root[c]);
			m->v2[c] = w->mounts.v2[c];
		}
		if (w->paths.present[c])
			(void)cg_machine_set(m, CG_MACHINE_PATH, c, w->paths.path[c]);
		if (w->top.present[c])
			(void)cg_machine_set(m, CG_MACHINE_TOP, c, w->top.path[c]);
	}
}

/*
 * A cgroup mount kept from before `unshare --cgroup` has its root above the reader's namespace
 * root ("/../.." in mountinfo, "..": the kernel prints roots relative to the reader's cgroup
 * namespace), while /proc/<pid>/cgroup names cgroups relative to that namespace root: the two do
 * not join. Nothing the kernel prints names the namespace root's place under such a mount, so it
 * is found as `cgproc run` finds the caller's group: the directory that many levels below the
 * mount whose <own cgroup>/cgroup.procs lists the reader. Bounded in depth and in directories
 * visited; not found, the mount stays as it is (its files are outside it: the host's file).
 */
#define NSROOT_DEPTH_MAX 6
#define NSROOT_VISIT_MAX 2048

struct nsroot_search {
	const struct cg_src *src;
	const char *own; /* the reader's cgroup, relative to its namespace root */
	uint64_t pid;	 /* the reader as cgroup.procs lists it */
	char *text;
	size_t size;
	unsigned visits;
};

static bool pid_in_procs(struct span text, uint64_t pid)
{
	struct span line;
	uint64_t v;

	while (line_next(&text, &line))
		if (parse_u64(line, &v) == 0 && v == pid)
			return true;
	return false;
}

/* Depth-first below @dir (a path under the src root, in place, CG_PATH_MAX bytes). */
static bool nsroot_walk(struct nsroot_search *s, char *dir, unsigned depth)
{
	alignas(8) char dents[1024];
	const struct src_dirent64 *e;
	size_t len = strlen(dir), got;
	struct src_dir d;
	bool found = false;
	char procs[CG_PATH_MAX * 2 + 16];
	int fd;

	if (++s->visits > NSROOT_VISIT_MAX)
		return false;
	if (depth == 0)
		return path_join(procs, sizeof(procs), dir, strcmp(s->own, "/") ? s->own : "",
				 "cgroup.procs") == 0 &&
		       src_read_uncached(s->src, procs, s->text, s->size, &got) == 0 &&
		       pid_in_procs((struct span){s->text, got}, s->pid);
	fd = src_sys_openat(s->src->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	d = (struct src_dir){fd, dents, sizeof(dents), 0, 0};
	while (!found && (e = src_dir_next(&d))) {
		size_t n = strlen(e->name);

		if (e->type != DT_DIR || e->name[0] == '.' || len + 1 + n >= CG_PATH_MAX)
			continue;
		dir[len] = '/';
		memcpy(dir + len + 1, e->name, n + 1);
		found = nsroot_walk(s, dir, depth - 1);
	}
	src_sys_close(fd);
	if (!found)
		dir[len] = 0;
	return found;
}

/* Mounts whose root lies above the reader's namespace root: their root becomes "/" (the mount's
 * own) and @w's paths are rebased onto the namespace root's place under it. @text: scratch. */
static void mounts_rebase(const struct cg_src *src, struct machine_work *w, char *text, size_t size)
{
	struct nsroot_search s = {.src = src, .text = text, .size = size};
	struct cg_paths own;
	uint64_t ppid;
	size_t len;
	bool any = false;

	/* the common case, every mount at or below the namespace root: nothing to read */
	for (unsigned c = 0; c < _CG_MAX && !any; c++)
		any = w->mounts.present[c] && cg_root_updepth(w->mounts.root[c]) > 0;
	if (!any)
		return;
	if (src_read(src, "proc/self/status", text, size, &len) < 0 ||
	    proc_status_parse((struct span){text, len}, &s.pid, &ppid) < 0 ||
	    src_read(src, "proc/self/cgroup", text, size, &len) < 0 ||
	    proc_cgroup_parse((struct span){text, len}, &own) < 0)
		return;
	for (unsigned c = 0; c < _CG_MAX; c++) {
		unsigned depth = cg_root_updepth(w->mounts.root[c]);
		char *base = w->top.path[c]; /* free until the top is computed */
		char rebased[CG_PATH_MAX];
		size_t mlen = strlen(w->mounts.mount[c]);
		bool found = false;

		if (!w->mounts.present[c] || !own.present[c] || depth == 0 ||
		    depth > NSROOT_DEPTH_MAX)
			continue;
		/* Co-mounted controllers share a mount: found once. */
		for (unsigned p = 0; p < c && !found; p++)
			if (w->top.path[p][0] == '/' &&
			    strcmp(w->mounts.mount[p], w->mounts.mount[c]) == 0) {
				strcpy(base, w->top.path[p]);
				found = true;
			}
		if (!found) {
			memcpy(base, w->mounts.mount[c], mlen + 1);
			s.own = own.path[c];
			s.visits = 0;
			if (!nsroot_walk(&s, base, depth))
				continue;
			memmove(base, base + mlen, strlen(base + mlen) + 1);
		}
		if (w->paths.present[c] &&
		    cg_path_rebase(base, w->paths.path[c], rebased, sizeof(rebased)) == 0)
			strcpy(w->paths.path[c], rebased);
		strcpy(w->mounts.root[c], "/");
	}
}

static int machine_find(const struct cg_src *src, pid_t pid, const char *override, char *text,
			size_t size, struct machine_work *w, struct cg_machine *ret)
{
	uint64_t self_cg = 0, self_pid = 0, cg_ns = 0, pid_ns = 0;
	bool inside_cg, inside_pid, cgroupns, pidns;
	enum machine_rule rule = MACHINE_RULE_NONE;
	char dir[32];
	pid_t init = 0;
	int r;

	memset(w, 0, sizeof(*w));
	r = procdir_name(pid, dir, sizeof(dir));
	if (r < 0)
		return r;

	/* Missing or unreadable links (old kernels, restricted /proc, fixtures) mean "initial". */
	(void)src_ns_inode(src, "proc/self", "cgroup", &self_cg);
	(void)src_ns_inode(src, "proc/self", "pid", &self_pid);
	if (pid == 0) {
		cg_ns = self_cg;
		pid_ns = self_pid;
	} else {
		(void)src_ns_inode(src, dir, "cgroup", &cg_ns);
		(void)src_ns_inode(src, dir, "pid", &pid_ns);
	}
	cgroupns = cg_ns != 0 && cg_ns != NS_INIT_CGROUP_INO;
	pidns = pid_ns != 0 && pid_ns != NS_INIT_PID_INO;
	inside_cg = pid == 0 || (cg_ns != 0 && cg_ns == self_cg);
	inside_pid = pid == 0 || (pid_ns != 0 && pid_ns == self_pid);

	r = read_proc_cgroup(src, dir, text, size, &w->paths);
	if (r < 0)
		return r;

	if (pidns) {
		if (inside_pid) {
			init = 1;
		} else if (pidns_init_find(src, pid, pid_ns, &init) < 0) {
			init = 0;
		}
	}

	if (override && *override) {
		if (override[0] != '/' || strlen(override) >= CG_PATH_MAX)
			return -EINVAL;
		paths_fill(&w->paths, override);
		rule = MACHINE_RULE_EXPLICIT;
	} else if (cgroupns && inside_cg) {
		/* From inside, the namespace root is what the process sees as "/". */
		for (unsigned c = 0; c < _CG_MAX; c++)
			if (w->paths.present[c])
				strcpy(w->paths.path[c], "/");
		rule = MACHINE_RULE_CGROUPNS;
	} else if (cgroupns && read_mountinfo(src, dir, text, size, &w->mounts) == 0) {
		/* From the host: the "root" of the process's own cgroup mounts is the host path of
		 * its namespace root. Controllers it has not mounted keep its own cgroup. */
		unsigned found = 0;

		for (unsigned c = 0; c < _CG_MAX; c++) {
			/* A root of "/" is the host's own hierarchy (mounts inherited from before
			 * the unshare): it says nothing about the namespace root. */
			if (!w->paths.present[c] || !w->mounts.present[c] ||
			    strcmp(w->mounts.root[c], "/") == 0)
				continue;
			strcpy(w->paths.path[c], w->mounts.root[c]);
			found++;
		}
		if (found > 0)
			rule = MACHINE_RULE_CGROUPNS;
	}
	if (rule == MACHINE_RULE_NONE && pidns && init > 0) {
		char initdir[32];

		/* w->top is free until the end: use it for the init's paths. */
		r = procdir_name(init, initdir, sizeof(initdir));
		if (r == 0)
			r = read_proc_cgroup(src, initdir, text, size, &w->top);
		if (r == 0) {
			w->paths = w->top;
			for (unsigned c = 0; c < _CG_MAX; c++)
				if (w->paths.present[c])
					cg_path_strip_init_scope(w->paths.path[c]);
			rule = MACHINE_RULE_PIDNS_INIT;
		}
	}
	if (rule == MACHINE_RULE_NONE)
		rule = MACHINE_RULE_OWN_CGROUP;

	/* Paths under the root fd are the reader's mounts; a fixture without proc/self uses the
	 * process's own mountinfo. */
	memset(&w->mounts, 0, sizeof(w->mounts));
	r = read_mountinfo(src, "proc/self", text, size, &w->mounts);
	if (r < 0 && r != -ENOBUFS && pid != 0)
		r = read_mountinfo(src, dir, text, size, &w->mounts);
	if (r < 0)
		return r;
	memset(&w->top, 0, sizeof(w->top));
	mounts_rebase(src, w, text, size);

	/* The highest visible ancestor is the root of the reader's mount of each hierarchy. */
	memset(&w->top, 0, sizeof(w->top));
	for (unsigned c = 0; c < _CG_MAX; c++) {
		if (!w->mounts.present[c] || !w->paths.present[c])
			continue;
		w->top.present[c] = true;
		strcpy(w->top.path[c], w->mounts.root[c]);
	}

	machine_compose(w, ret);
	ret->cgroupns = cgroupns;
	ret->pidns = pidns;
	ret->rule = rule;
	ret->init_pid = rule == MACHINE_RULE_EXPLICIT || rule == MACHINE_RULE_OWN_CGROUP ? 0 : init;
	return 0;
}

/* Only the machine's header and the used start of its pool are written (the shim's machine is in
 * memory that stays in the process: untouched pages cost nothing). */
int cg_machine_find_scratch(const struct cg_src *src, pid_t pid, const char *override,
			    char *scratch, size_t size, struct cg_machine *ret)
{
	uintptr_t p = (uintptr_t)scratch, aligned = (p + 15) & ~(uintptr_t)15;
	struct machine_work *work;
	size_t skip = (size_t)(aligned - p);

	if (!src || !ret || pid < 0 || !scratch)
		return -EINVAL;
	if (size < skip + sizeof(*work) + 4096)
		return -ENOBUFS;
	work = (struct machine_work *)aligned;
	return machine_find(src, pid, override, (char *)(work + 1), size - skip - sizeof(*work),
			    work, ret);
}

int cg_machine_find(const struct cg_src *src, pid_t pid, const char *override,
		    struct cg_machine *ret)
{
	struct {
		struct machine_work w;
		char text[32768];
	} work;

	if (!src || !ret || pid < 0)
		return -EINVAL;
	return machine_find(src, pid, override, work.text, sizeof(work.text), &work.w, ret);
}

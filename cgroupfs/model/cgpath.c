/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsers of /proc/<pid>/mountinfo and /proc/<pid>/cgroup (see cgpath.h). Pure, no allocation.
 * Both parsers first pick, per controller, the line that wins (as spans into the input) and only
 * then copy into the caller's struct, so that nothing is written on failure.
 *
 * mountinfo format (proc(5)): "id parent maj:min root mountpoint options [optional...] - fstype
 * source superoptions"; root and mount point escape ' ', '\t', '\n' and '\\' as "\ooo" octal.
 * For a v1 "cgroup" mount the controllers are in the super options ("rw,cpu,cpuacct"), next to
 * non-controller words ("rw", "name=systemd", "xattr", "release_agent=...").
 */
#include <errno.h>
#include <string.h>

#include "cgpath.h"

/* v1 spellings, which /proc/<pid>/cgroup and the super options use. */
static const char *const controller_names[_CG_MAX] = {
	[CG_MEMORY] = "memory",	  [CG_CPU] = "cpu",  [CG_CPUACCT] = "cpuacct",
	[CG_CPUSET] = "cpuset",	  [CG_IO] = "blkio", [CG_PIDS] = "pids",
	[CG_UNIFIED] = "unified",
};

const char *cg_controller_name(enum cg_controller c)
{
	if ((unsigned)c >= _CG_MAX)
		return NULL;
	return controller_names[c];
}

/* A v1 controller name; CG_UNIFIED is never one. -1 when not a controller cgproc reads. */
static int controller_from_span(struct span s)
{
	for (int c = 0; c < CG_UNIFIED; c++)
		if (span_eq(s, controller_names[c]))
			return c;
	return -1;
}

static bool is_octal(char c)
{
	return c >= '0' && c <= '7';
}

int mountinfo_unescape(struct span s, bool skip_slash, char *dst, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];

		if (c == '\\' && i + 3 < s.len && is_octal(s.p[i + 1]) && is_octal(s.p[i + 2]) &&
		    is_octal(s.p[i + 3])) {
			c = (char)(((s.p[i + 1] - '0') << 6) | ((s.p[i + 2] - '0') << 3) |
				   (s.p[i + 3] - '0'));
			i += 3;
		}
		if (skip_slash && n == 0 && c == '/') {
			skip_slash = false;
			continue;
		}
		if (n + 1 >= size)
			return -ENAMETOOLONG;
		dst[n++] = c;
	}
	dst[n] = '\0';
	return 0;
}

struct mount_pick {
	bool present, v2;
	struct span mount, root;
};

static bool span_is_root(struct span s)
{
	return span_eq(s, "/");
}

/* Take @cand for a controller unless what is there already is better. */
static void mount_pick_offer(struct mount_pick *p, struct span mount, struct span root, bool v2)
{
	if (p->present) {
		if (v2 && !p->v2)
			return; /* a real v1 mount beats the unified hierarchy */
		if (v2 == p->v2 && (span_is_root(p->root) || !span_is_root(root)))
			return; /* first mount with root "/" wins */
	}
	p->present = true;
	p->v2 = v2;
	p->mount = mount;
	p->root = root;
}

bool mountinfo_next(struct span *rest, struct mountinfo_entry *ret)
{
	struct span line;

	while (line_next(rest, &line)) {
		struct span w, root, mount, fstype, source, super;
		bool sep = false;

		/* id, parent, maj:min */
		if (!word_next(&line, &w) || !word_next(&line, &w) || !word_next(&line, &w))
			continue;
		if (!word_next(&line, &root) || !word_next(&line, &mount) || !word_next(&line, &w))
			continue;
		while (word_next(&line, &w))
			if (span_eq(w, "-")) {
				sep = true;
				break;
			}
		if (!sep || !word_next(&line, &fstype) || !word_next(&line, &source))
			continue;
		if (!word_next(&line, &super))
			super = (struct span){"", 0};
		*ret = (struct mountinfo_entry){root, mount, fstype, source, super};
		return true;
	}
	return false;
}

int mountinfo_parse_cgroups(struct span mountinfo, struct cg_mounts *ret)
{
	struct mount_pick pick[_CG_MAX] = {0}, unified = {0};
	struct mountinfo_entry e;
	bool any = false;

	while (mountinfo_next(&mountinfo, &e)) {
		if (span_eq(e.fstype, "cgroup2")) {
			any = true;
			mount_pick_offer(&unified, e.mount, e.root, true);
		} else if (span_eq(e.fstype, "cgroup")) {
			struct span item;

			any = true;
			while (field_next(&e.super, ',', &item)) {
				int c = controller_from_span(item);

				if (c >= 0)
					mount_pick_offer(&pick[c], e.mount, e.root, false);
			}
		}
	}
	if (!any)
		return -ENOENT;

	/* v2 serves every controller no v1 hierarchy has (cgroup.controllers says if it is on). */
	if (unified.present) {
		for (int c = 0; c < CG_UNIFIED; c++)
			if (!pick[c].present)
				pick[c] = unified;
		pick[CG_UNIFIED] = unified;
	}

	/* Check lengths before writing anything. */
	for (int c = 0; c < _CG_MAX; c++) {
		char tmp[CG_PATH_MAX];
		int r;

		if (!pick[c].present)
			continue;
		r = mountinfo_unescape(pick[c].mount, true, tmp, sizeof(tmp));
		if (r < 0)
			return r;
		r = mountinfo_unescape(pick[c].root, false, tmp, sizeof(tmp));
		if (r < 0)
			return r;
	}
	memset(ret, 0, sizeof(*ret));
	for (int c = 0; c < _CG_MAX; c++) {
		if (!pick[c].present)
			continue;
		ret->present[c] = true;
		ret->v2[c] = pick[c].v2;
		(void)mountinfo_unescape(pick[c].mount, true, ret->mount[c], CG_PATH_MAX);
		(void)mountinfo_unescape(pick[c].root, false, ret->root[c], CG_PATH_MAX);
	}
	return 0;
}

int proc_cgroup_parse(struct span text, struct cg_paths *ret)
{
	struct span pick[_CG_MAX] = {0}, unified = {0};
	bool have[_CG_MAX] = {false}, have_unified = false, any = false;
	struct span line;

	while (line_next(&text, &line)) {
		const char *c1 = memchr(line.p, ':', line.len), *c2;
		struct span ctrls, path, item;

		if (!c1)
			continue;
		c2 = memchr(c1 + 1, ':', line.len - (size_t)(c1 - line.p) - 1);
		if (!c2)
			continue;
		ctrls = (struct span){c1 + 1, (size_t)(c2 - c1 - 1)};
		/* the path is the rest of the line: cgroup names may contain ':' */
		path = (struct span){c2 + 1, line.len - (size_t)(c2 - line.p) - 1};
		if (path.len == 0 || path.p[0] != '/')
			continue;
		if (path.len >= CG_PATH_MAX)
			return -ENAMETOOLONG;
		if (c1 == line.p)
			continue; /* no hierarchy id */
		any = true;
		if (ctrls.len == 0) {
			/* "0::/path": the unified hierarchy */
			if (!have_unified) {
				unified = path;
				have_unified = true;
			}
			continue;
		}
		while (field_next(&ctrls, ',', &item)) {
			int c = controller_from_span(item);

			if (c >= 0 && !have[c]) {
				pick[c] = path;
				have[c] = true;
			}
		}
	}
	if (!any)
		return -ENOENT;

	/* Hybrid: v1 lines win; controllers without one live in the unified hierarchy. */
	if (have_unified) {
		for (int c = 0; c < CG_UNIFIED; c++)
			if (!have[c]) {
				pick[c] = unified;
				have[c] = true;
			}
		pick[CG_UNIFIED] = unified;
		have[CG_UNIFIED] = true;
	}

	memset(ret, 0, sizeof(*ret));
	for (int c = 0; c < _CG_MAX; c++) {
		if (!have[c])
			continue;
		ret->present[c] = true;
		memcpy(ret->path[c], pick[c].p, pick[c].len);
		ret->path[c][pick[c].len] = '\0';
	}
	return 0;
}

void cg_path_strip_init_scope(char *path)
{
	static const char suffix[] = "/init.scope";
	size_t n = strlen(path), s = sizeof(suffix) - 1;

	if (n < s || strcmp(path + n - s, suffix) != 0)
		return;
	if (n == s) {
		path[1] = '\0'; /* "/init.scope" -> "/" */
		return;
	}
	path[n - s] = '\0';
}

bool cg_path_parent(char *path)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/') /* "/a/b/" */
		n--;
	if (n <= 1)
		return false;
	while (n > 0 && path[n - 1] != '/')
		n--;
	/* n is now just past the last '/' */
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 0) {
		/* relative path without '/': no parent to give */
		return false;
	}
	path[n] = '\0';
	return true;
}

unsigned cg_root_updepth(const char *root)
{
	unsigned n = 0;

	while (root[0] == '/' && root[1] == '.' && root[2] == '.' && (root[3] == '/' || !root[3])) {
		n++;
		root += 3;
	}
	return root[0] == 0 || (root[0] == '/' && root[1] == 0) ? n : 0;
}

int cg_path_rebase(const char *base, const char *rel, char *out, size_t size)
{
	size_t len = 0;

	if (size < 2 || base[0] != '/' || rel[0] != '/')
		return -EINVAL;
	out[0] = 0;
	for (const char *part = base; part;) {
		for (const char *p = part; *p;) {
			size_t n;

			while (*p == '/')
				p++;
			n = strcspn(p, "/");
			if (n == 0 || (n == 1 && p[0] == '.')) {
				p += n;
				continue;
			}
			if (n == 2 && p[0] == '.' && p[1] == '.') {
				if (len == 0)
					return -EXDEV;
				while (len > 0 && out[len - 1] != '/')
					len--;
				out[--len] = 0;
			} else {
				if (len + 1 + n >= size)
					return -ENAMETOOLONG;
				out[len++] = '/';
				memcpy(out + len, p, n);
				len += n;
				out[len] = 0;
			}
			p += n;
		}
		part = part == base ? rel : NULL;
	}
	if (len == 0)
		memcpy(out, "/", 2);
	return 0;
}

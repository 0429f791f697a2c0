/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Adding a virtual file is one row in vfile_table (plus its renderer and golden data): everything
 * else that names the files is derived from the table or checked against it here. The lookups,
 * "files=" in the configuration, `cgproc show --list` and --help, and the lists of files in the
 * man pages (which are prose, so they are compared with the table rather than generated).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfile.h"

#define MAX_PATHS 64

struct paths {
	char p[MAX_PATHS][128];
	int n;
};

static void paths_add(struct paths *ps, const char *prefix, const char *s, size_t len)
{
	cr_assert_lt(ps->n, MAX_PATHS);
	snprintf(ps->p[ps->n++], sizeof(ps->p[0]), "%s%.*s", prefix, (int)len, s);
}

/* @s (@len bytes) with one "{a,b,c}" group expanded, each result prefixed with @prefix. */
static void paths_expand(struct paths *ps, const char *prefix, const char *s, size_t len)
{
	const char *open = memchr(s, '{', len), *close = open ? memchr(open, '}', len) : NULL;
	char buf[128];

	if (!open || !close) {
		paths_add(ps, prefix, s, len);
		return;
	}
	for (const char *alt = open + 1; alt < close;) {
		const char *end = memchr(alt, ',', (size_t)(close - alt));

		if (!end)
			end = close;
		snprintf(buf, sizeof(buf), "%.*s%.*s%.*s", (int)(open - s), s, (int)(end - alt),
			 alt, (int)(s + len - close - 1), close + 1);
		paths_add(ps, prefix, buf, strlen(buf));
		alt = end + 1;
	}
}

/* Every "_/..._" (an absolute path in scdoc's underline) of @line. */
static void paths_underlined(struct paths *ps, const char *line)
{
	for (const char *p = strstr(line, "_/"); p; p = strstr(p, "_/")) {
		const char *end = strchr(p + 1, '_');

		/* "<pid>" etc. have no '_'; a path ends at the next '_' */
		cr_assert_not_null(end, "unterminated path in: %s", line);
		paths_expand(ps, "", p + 1, (size_t)(end - p - 1));
		p = end + 1;
	}
}

static char *slurp(const char *rel)
{
	const char *root = getenv("CGPROC_SOURCE_ROOT");
	char path[4096];
	FILE *f;
	char *text = NULL;
	size_t len = 0;

	cr_assert_not_null(root, "CGPROC_SOURCE_ROOT is not set (run under meson test)");
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	{
		FILE *in = fopen(path, "re");
		char chunk[4096];
		size_t n;

		cr_assert_not_null(in, "%s", path);
		while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
			fwrite(chunk, 1, n, f);
		fclose(in);
	}
	fclose(f);
	return text;
}

/* A path a man page names is a row: "<pid>"/"<tid>" stand for any pid. */
static bool path_is_row(const char *path)
{
	char concrete[128];
	const char *pid = strstr(path, "<pid>");

	if (vfile_lookup(path))
		return true;
	if (!pid)
		return false;
	snprintf(concrete, sizeof(concrete), "%.*s1%s", (int)(pid - path), path, pid + 5);
	if (strstr(concrete, "<tid>")) {
		char *tid = strstr(concrete, "<tid>");

		memmove(tid + 1, tid + 5, strlen(tid + 5) + 1);
		*tid = '2';
	}
	return vfile_match(concrete, NULL, NULL) != NULL;
}

static bool paths_have(const struct paths *ps, const char *path)
{
	for (int i = 0; i < ps->n; i++)
		if (strcmp(ps->p[i], path) == 0)
			return true;
	return false;
}

/* The page lists exactly the rows (those without VFILE_PER_PROCESS when @shared_only). */
static void expect_exactly_the_table(const struct paths *ps, const char *page, bool shared_only)
{
	cr_expect_gt(ps->n, 0, "%s: no list of files found", page);
	for (int i = 0; i < ps->n; i++)
		cr_expect(path_is_row(ps->p[i]), "%s names %s, which is not in vfile_table", page,
			  ps->p[i]);
	vfile_foreach (vf) {
		if (shared_only && (vf->flags & VFILE_PER_PROCESS))
			continue;
		cr_expect(paths_have(ps, vf->path), "%s does not list %s", page, vf->path);
	}
}

Test(vfile_table, rows_are_indexed_by_id_and_unique)
{
	vfile_foreach (vf) {
		cr_expect_eq(vf->id, (enum vfile_id)(vf - vfile_table));
		cr_expect_not_null(vf->render, "%s has no renderer", vf->name);
		cr_expect_eq(vf->path[0], '/');
		cr_expect_eq(vfile_lookup(vf->name), vf);
		cr_expect_eq(vfile_lookup(vf->path), vf);
		if (!(vf->flags & VFILE_PER_PROCESS))
			cr_expect_eq(vfile_match(vf->path, NULL, NULL), vf);
	}
}

Test(vfile_table, files_key_selects_each_row_by_name)
{
	vfile_foreach (vf) {
		struct cgproc_config cfg;
		struct span key = {"files", 5}, val = {vf->name, strlen(vf->name)};

		config_defaults(&cfg);
		cr_assert_eq(config_apply(&cfg, key, val), 0, "%s", vf->name);
		cr_assert_eq(vfile_config_resolve(&cfg), 0, "%s", vf->name);
		cr_expect_eq(cfg.files, 1ULL << vf->id, "files=%s", vf->name);
		vfile_foreach (other)
			cr_expect_eq(vfile_enabled(&cfg, other->id), other == vf);
	}
	cr_expect(vfile_enabled(NULL, VFILE_PROC_MEMINFO));
	cr_expect_not(vfile_enabled(&(struct cgproc_config){.enabled = true, .files = ~0ULL},
				    _VFILE_MAX));
}

Test(vfile_table, cgproc_show_lists_and_names_every_row)
{
	const char *build = getenv("CGPROC_BUILD_ROOT");
	char cmd[4096], line[512], *help = NULL;
	size_t help_len = 0;
	FILE *p, *h;
	int n = 0;

	cr_assert_not_null(build, "CGPROC_BUILD_ROOT is not set (run under meson test)");
	snprintf(cmd, sizeof(cmd), "'%s/tools/cgproc' show --list", build);
	p = popen(cmd, "re");
	cr_assert_not_null(p);
	while (fgets(line, sizeof(line), p)) {
		char name[64], path[256];

		cr_assert_lt(n, _VFILE_MAX, "more lines than rows: %s", line);
		cr_assert_eq(sscanf(line, "%63s %255s", name, path), 2, "%s", line);
		cr_expect_str_eq(name, vfile_table[n].name);
		cr_expect_str_eq(path, vfile_table[n].path);
		n++;
	}
	cr_expect_eq(pclose(p), 0);
	cr_expect_eq(n, _VFILE_MAX);

	snprintf(cmd, sizeof(cmd), "'%s/tools/cgproc' show --help", build);
	p = popen(cmd, "re");
	cr_assert_not_null(p);
	h = open_memstream(&help, &help_len);
	while (fgets(line, sizeof(line), p))
		fputs(line, h);
	fclose(h);
	cr_expect_eq(pclose(p), 0);
	/* the names as the help prints them: "(a, b,\nc)" */
	vfile_foreach (vf) {
		bool found = false;

		for (const char *q = help; (q = strstr(q, vf->name)); q++) {
			found |= q > help && (q[-1] == '(' || q[-1] == ' ' || q[-1] == '\n') &&
				 strchr(",)", q[strlen(vf->name)]);
		}
		cr_expect(found, "cgproc show --help does not name %s", vf->name);
	}
	free(help);
}

Test(vfile_table, man_pages_list_exactly_the_rows)
{
	struct paths ps = {0};
	char *text, *sect, *line, *save;

	/* cgproc(7): one entry per file (or brace group) in VIRTUAL FILES */
	text = slurp("man/cgproc.7.scd");
	sect = strstr(text, "\n# VIRTUAL FILES\n");
	cr_assert_not_null(sect);
	sect += 2;
	*strstr(sect, "\n# ") = 0;
	for (line = strtok_r(sect, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "_/", 2) == 0)
			paths_underlined(&ps, line);
	expect_exactly_the_table(&ps, "cgproc.7", false);
	free(text);

	/* libcgproc(8): the "Virtual files:" paragraph */
	memset(&ps, 0, sizeof(ps));
	text = slurp("man/libcgproc.8.scd");
	sect = strstr(text, "\nVirtual files:");
	cr_assert_not_null(sect);
	*strstr(sect + 1, "\n\n") = 0;
	for (line = strtok_r(sect, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		paths_underlined(&ps, line);
	expect_exactly_the_table(&ps, "libcgproc.8", false);
	free(text);

	/* cgprocfs(8): the indented block of the tree's paths, relative to the mount point */
	memset(&ps, 0, sizeof(ps));
	text = slurp("man/cgprocfs.8.scd");
	sect = strstr(text, "that contains\n\n");
	cr_assert_not_null(sect);
	sect += strlen("that contains\n\n");
	*strstr(sect, "\n\n") = 0;
	for (char *item = strtok_r(sect, " \t\n,", &save); item;
	     item = strtok_r(NULL, " \t\n,", &save)) {
		size_t len = strlen(item);

		if (len >= 2 && strcmp(item + len - 2, "++") == 0)
			len -= 2; /* scdoc's forced line break */
		if (len == 0)
			continue;
		/* "proc/pressure/{cpu,memory,io}" was split at its commas: join it back */
		if (memchr(item, '{', len) && !memchr(item, '}', len)) {
			char joined[128];

			snprintf(joined, sizeof(joined), "%.*s", (int)len, item);
			while (!strchr(joined, '}')) {
				char *next = strtok_r(NULL, " \t\n,", &save);

				cr_assert_not_null(next);
				if (strcmp(next, "++") == 0)
					continue;
				strncat(joined, ",", sizeof(joined) - strlen(joined) - 1);
				strncat(joined, next, sizeof(joined) - strlen(joined) - 1);
			}
			len = strlen(joined);
			if (strcmp(joined + len - 2, "++") == 0)
				len -= 2;
			paths_expand(&ps, "/", joined, len);
			continue;
		}
		paths_expand(&ps, "/", item, len);
	}
	expect_exactly_the_table(&ps, "cgprocfs.8", true);
	for (int i = 0; i < ps.n; i++) {
		const struct vfile *vf = vfile_lookup(ps.p[i]);

		cr_expect(vf && !(vf->flags & VFILE_PER_PROCESS), "cgprocfs.8: %s", ps.p[i]);
	}
	free(text);
}

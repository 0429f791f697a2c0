/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgproc configuration parsing: /etc/cgproc.conf text and CGPROC_* pairs. See config.h.
 * Pure: where the text comes from (and whether the environment may be trusted) is the front
 * end's decision. No allocation, no logging.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"

void config_defaults(struct cgproc_config *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->enabled = true;
	ret->quota_view = false;
	ret->files = UINT64_MAX;
	strcpy(ret->files_list, "all");
	strcpy(ret->rundir, CGPROC_RUNDIR_DEFAULT);
	ret->reuse_ms = CGPROC_REUSE_MS_DEFAULT;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool span_ieq(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	if (s.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(s.p[i]) != lower(lit[i]))
			return false;
	return true;
}

static int bool_parse(struct span v, bool *ret)
{
	if (span_ieq(v, "yes") || span_ieq(v, "true") || span_ieq(v, "on") || span_ieq(v, "1")) {
		*ret = true;
		return 0;
	}
	if (span_ieq(v, "no") || span_ieq(v, "false") || span_ieq(v, "off") || span_ieq(v, "0")) {
		*ret = false;
		return 0;
	}
	return -EINVAL;
}

/* Copy @v into a fixed field; NUL bytes and values that do not fit are refused. */
static int str_set(char *dst, size_t cap, struct span v)
{
	if (v.len >= cap || memchr(v.p, '\0', v.len))
		return -EINVAL;
	memcpy(dst, v.p, v.len);
	dst[v.len] = '\0';
	return 0;
}

static int path_set(char *dst, size_t cap, struct span v, bool allow_empty)
{
	if (v.len == 0)
		return allow_empty ? str_set(dst, cap, v) : -EINVAL;
	if (v.p[0] != '/')
		return -EINVAL;
	return str_set(dst, cap, v);
}

static bool files_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.' || c == '/' || c == ',' || c == ' ' || c == '\t';
}

/* Split off the next comma-separated item, trimmed. false at the end. */
static bool item_next(struct span *rest, struct span *ret)
{
	const char *comma;
	struct span item;

	if (!rest->p)
		return false;
	comma = memchr(rest->p, ',', rest->len);
	if (comma) {
		item = (struct span){rest->p, (size_t)(comma - rest->p)};
		rest->len -= item.len + 1;
		rest->p = comma + 1;
	} else {
		item = *rest;
		rest->p = NULL; /* the last item, possibly empty, has been handed out */
		rest->len = 0;
	}
	*ret = span_trim(item);
	return true;
}

int config_files_parse(struct span list, const char *const names[], size_t n, uint64_t *ret)
{
	struct span rest = span_trim(list), item;
	uint64_t mask = 0;
	int unknown = 0;

	if (rest.len == 0)
		return -EINVAL;
	if (span_ieq(rest, "all")) {
		*ret = UINT64_MAX;
		return 0;
	}
	while (item_next(&rest, &item)) {
		bool known = false;

		if (item.len == 0)
			return -EINVAL;
		for (size_t i = 0; i < n && i < 64; i++)
			if (names[i] && span_ieq(item, names[i])) {
				mask |= UINT64_C(1) << i;
				known = true;
				break;
			}
		if (!known)
			unknown++;
	}
	*ret = mask;
	return unknown;
}

int config_files_resolve(struct cgproc_config *cfg, const char *const names[], size_t n)
{
	uint64_t mask;
	int r;

	r = config_files_parse((struct span){cfg->files_list, strlen(cfg->files_list)}, names, n,
			       &mask);
	if (r < 0)
		return r;
	cfg->files = mask;
	return r;
}

static int files_set(struct cgproc_config *cfg, struct span v)
{
	struct span rest = v, item;

	if (v.len == 0)
		return -EINVAL;
	for (size_t i = 0; i < v.len; i++)
		if (!files_char_ok(v.p[i]))
			return -EINVAL;
	while (item_next(&rest, &item))
		if (item.len == 0)
			return -EINVAL;
	return str_set(cfg->files_list, sizeof(cfg->files_list), v);
}

int config_apply(struct cgproc_config *cfg, struct span key, struct span value)
{
	key = span_trim(key);
	value = span_trim(value);

	if (span_ieq(key, "enabled"))
		return bool_parse(value, &cfg->enabled);
	if (span_ieq(key, "cpu_view")) {
		if (span_ieq(value, "cpuset"))
			cfg->quota_view = false;
		else if (span_ieq(value, "quota"))
			cfg->quota_view = true;
		else
			return -EINVAL;
		return 0;
	}
	if (span_ieq(key, "files"))
		return files_set(cfg, value);
	if (span_ieq(key, "machine"))
		return path_set(cfg->machine, sizeof(cfg->machine), value, true);
	if (span_ieq(key, "rundir"))
		return path_set(cfg->rundir, sizeof(cfg->rundir), value, false);
	if (span_ieq(key, "log"))
		return path_set(cfg->log, sizeof(cfg->log), value, true);
	if (span_ieq(key, "reuse_ms")) {
		uint64_t v;

		if (parse_u64(value, &v) < 0 || v > CGPROC_REUSE_MS_MAX)
			return -EINVAL;
		cfg->reuse_ms = (unsigned)v;
		return 0;
	}
	return -EINVAL;
}

/* A value may be written in double quotes: key = "value". */
static struct span unquote(struct span v)
{
	if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"')
		return (struct span){v.p + 1, v.len - 2};
	return v;
}

int config_apply_text(struct cgproc_config *cfg, struct span text)
{
	struct span line;
	int skipped = 0;

	while (line_next(&text, &line)) {
		struct span t = span_trim(line), key, value;
		const char *eq;

		/* Blank lines and '#' comments (whole lines only: paths may hold '#'). */
		if (t.len > 0 && t.p[t.len - 1] == '\r')
			t = span_trim((struct span){t.p, t.len - 1});
		if (t.len == 0 || t.p[0] == '#')
			continue;
		eq = memchr(t.p, '=', t.len);
		if (!eq) {
			skipped++;
			continue;
		}
		key = span_trim((struct span){t.p, (size_t)(eq - t.p)});
		value = unquote(span_trim((struct span){eq + 1, t.len - (size_t)(eq + 1 - t.p)}));
		if (key.len == 0 || config_apply(cfg, key, value) < 0)
			skipped++;
	}
	return skipped;
}

bool config_file_trusted(uid_t uid, mode_t mode)
{
	return S_ISREG(mode) && uid == 0 && !(mode & (S_IWGRP | S_IWOTH));
}

/* The environment's names of the keys, in CONFIG_KEY_* bit order. */
static const char *const env_keys[] = {"ENABLED", "CPU_VIEW", "FILES",	 "MACHINE",
				       "RUNDIR",  "LOG",      "REUSE_MS"};

unsigned config_apply_environ(struct cgproc_config *cfg, struct span block, unsigned keys)
{
	unsigned seen = 0, set = 0;

	for (size_t i = 0; i < block.len;) {
		const char *e = block.p + i, *eq;
		size_t n = strnlen(e, block.len - i);

		i += n + 1;
		if (n <= 7 || memcmp(e, "CGPROC_", 7) != 0)
			continue;
		eq = memchr(e, '=', n);
		if (!eq)
			continue;
		for (unsigned k = 0; k < sizeof(env_keys) / sizeof(env_keys[0]); k++) {
			struct span key = {e + 7, (size_t)(eq - e - 7)};
			size_t len = strlen(env_keys[k]);

			if (key.len != len || memcmp(key.p, env_keys[k], len) != 0)
				continue;
			if (!(seen & (1U << k)) && (keys & (1U << k)) &&
			    config_apply(cfg, key,
					 (struct span){eq + 1, n - (size_t)(eq - e) - 1}) == 0)
				set |= 1U << k;
			seen |= 1U << k;
			break;
		}
	}
	return set;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TEMPORARY stand-in for cgroupfs/model/config.c (built only while that file does not exist):
 * just enough parsing for the shim's tests (enabled, log). Deleted once config.c is merged.
 */
#include <errno.h>
#include <string.h>

#include "model/config.h"

void config_defaults(struct cgproc_config *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->enabled = true;
	ret->files = UINT64_MAX;
	strcpy(ret->rundir, CGPROC_RUNDIR_DEFAULT);
}

static bool key_is(struct span key, const char *a, const char *b)
{
	return span_eq(key, a) || span_eq(key, b);
}

int config_apply(struct cgproc_config *cfg, struct span key, struct span value)
{
	value = span_trim(value);
	if (key_is(key, "enabled", "ENABLED")) {
		if (span_eq(value, "0") || span_eq(value, "no") || span_eq(value, "false"))
			cfg->enabled = false;
		else if (span_eq(value, "1") || span_eq(value, "yes") || span_eq(value, "true"))
			cfg->enabled = true;
		else
			return -EINVAL;
		return 0;
	}
	if (key_is(key, "log", "LOG")) {
		if (value.len >= sizeof(cfg->log))
			return -EINVAL;
		memcpy(cfg->log, value.p, value.len);
		cfg->log[value.len] = '\0';
		return 0;
	}
	if (key_is(key, "machine", "MACHINE")) {
		if (value.len >= sizeof(cfg->machine))
			return -EINVAL;
		memcpy(cfg->machine, value.p, value.len);
		cfg->machine[value.len] = '\0';
		return 0;
	}
	return -EINVAL;
}

int config_apply_text(struct cgproc_config *cfg, struct span text)
{
	struct span line;
	int skipped = 0;

	while (line_next(&text, &line)) {
		const char *eq = memchr(line.p, '=', line.len);
		struct span key, value;

		line = span_trim(line);
		if (!line.len || line.p[0] == '#')
			continue;
		if (!eq) {
			skipped++;
			continue;
		}
		key = span_trim((struct span){line.p, (size_t)(eq - line.p)});
		value = span_trim((struct span){eq + 1, (size_t)(line.p + line.len - eq - 1)});
		if (config_apply(cfg, key, value) < 0)
			skipped++;
	}
	return skipped;
}

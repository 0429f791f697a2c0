/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Per-process /proc text: see proc.h. */
#include <errno.h>
#include <stdint.h>

#include "proc.h"

bool pid_parse(const char **p, pid_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '1' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > INT32_MAX)
			return false;
		s++;
	}
	*p = s;
	*ret = (pid_t)v;
	return true;
}

int proc_status_parse(struct span text, uint64_t *ret_nspid_last, uint64_t *ret_ppid)
{
	bool have_nspid = false, have_ppid = false;
	uint64_t nspid = 0, ppid = 0;
	struct span line;

	while (line_next(&text, &line)) {
		struct span w, last = {NULL, 0};

		if (span_startswith(line, "NSpid:")) {
			line.p += 6;
			line.len -= 6;
			while (word_next(&line, &w))
				last = w;
			if (!last.p || parse_u64(last, &nspid) < 0)
				return -EINVAL;
			have_nspid = true;
		} else if (span_startswith(line, "PPid:")) {
			line.p += 5;
			line.len -= 5;
			if (parse_u64(line, &ppid) < 0)
				return -EINVAL;
			have_ppid = true;
		}
	}
	if (!have_nspid || !have_ppid)
		return -ENOENT;
	*ret_nspid_last = nspid;
	*ret_ppid = ppid;
	return 0;
}

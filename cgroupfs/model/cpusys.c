/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /sys/devices/system/cpu for a machine. See cpusys.h. Pure: no I/O, no allocation.
 */
#include <errno.h>
#include <string.h>

#include "cpusys.h"

int cpudir_cpu_id(struct span name)
{
	uint64_t id = 0;

	if (name.len < 4 || !span_startswith(name, "cpu") || name.len > 3 + 5)
		return -1;
	if (name.p[3] == '0' && name.len > 4)
		return -1;
	for (size_t i = 3; i < name.len; i++) {
		if (name.p[i] < '0' || name.p[i] > '9')
			return -1;
		id = id * 10 + (uint64_t)(name.p[i] - '0');
	}
	return id < CPUSET_MAX ? (int)id : -1;
}

bool cpudir_entry_visible(struct span name, const struct cpuset *visible)
{
	int id = cpudir_cpu_id(name);

	if (id >= 0)
		return cpuset_test(visible, (unsigned)id);
	/* "cpu9999" past CPUSET_MAX names no CPU a machine can have. */
	return !(span_startswith(name, "cpu") && name.len > 3 && name.p[3] >= '0' &&
		 name.p[3] <= '9');
}

/* The last component of @path, and whether it is the first-level file "@lit". */
static struct span last_component(struct span path, bool *ret_top)
{
	const char *slash = NULL;

	for (size_t i = 0; i < path.len; i++)
		if (path.p[i] == '/')
			slash = path.p + i;
	*ret_top = slash == NULL;
	if (!slash)
		return path;
	return (struct span){slash + 1, path.len - (size_t)(slash + 1 - path.p)};
}

static bool span_endswith(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len >= n && memcmp(s.p + s.len - n, lit, n) == 0;
}

enum cpusys_kind cpusys_kind_of(struct span path)
{
	struct span first = path, name;
	bool top;
	const char *slash = memchr(path.p, '/', path.len);

	name = last_component(path, &top);
	if (top) {
		if (span_eq(name, "online") || span_eq(name, "possible") ||
		    span_eq(name, "present"))
			return CPUSYS_VISIBLE;
		if (span_eq(name, "offline"))
			return CPUSYS_OFFLINE;
		return CPUSYS_HOST;
	}
	first.len = (size_t)(slash - path.p);
	if (cpudir_cpu_id(first) < 0)
		return CPUSYS_HOST;
	/* cpuN/online, cpuN/topology/x: exactly two or three components. */
	if (path.len == first.len + 1 + name.len)
		return span_eq(name, "online") ? CPUSYS_CPU_ONLINE : CPUSYS_HOST;
	if (path.len != first.len + sizeof("/topology/") - 1 + name.len ||
	    memcmp(slash, "/topology/", sizeof("/topology/") - 1) != 0)
		return CPUSYS_HOST;
	if (span_endswith(name, "_list"))
		return CPUSYS_LIST;
	if (span_endswith(name, "_cpus") || span_endswith(name, "_siblings"))
		return CPUSYS_MASK;
	return CPUSYS_HOST;
}

int cpusys_render(enum cpusys_kind kind, struct span host, const struct cpuset *visible,
		  struct buf *out)
{
	struct cpuset set;
	int r;

	switch (kind) {
	case CPUSYS_HOST:
		buf_putn(out, host.p, host.len);
		return buf_result(out);
	case CPUSYS_CPU_ONLINE:
		buf_puts(out, "1\n");
		return buf_result(out);
	case CPUSYS_VISIBLE:
		set = *visible;
		break;
	case CPUSYS_OFFLINE:
		/* possible is the visible list, and all of it is on line. */
		buf_putc(out, '\n');
		return buf_result(out);
	case CPUSYS_LIST:
		r = cpuset_parse(host, &set);
		if (r < 0)
			return r;
		cpuset_and(&set, visible);
		break;
	case CPUSYS_MASK:
		r = cpuset_parse_mask(host, &set);
		if (r < 0)
			return r;
		cpuset_and(&set, visible);
		r = cpuset_format_mask(&set, host, out);
		if (r < 0)
			return r;
		buf_putc(out, '\n');
		return buf_result(out);
	default:
		return -EINVAL;
	}
	cpuset_format(&set, out);
	buf_putc(out, '\n');
	return buf_result(out);
}

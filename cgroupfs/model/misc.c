/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The small renderers: /proc/uptime, /proc/loadavg and the kernel's load-average EWMA,
 * /proc/diskstats from cgroup I/O counters, the starttime shift of /proc/<pid>/stat, and the
 * numbers behind sysinfo(). See misc.h. Pure: no I/O, no allocation, no snprintf.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "misc.h"

#ifndef SI_LOAD_SHIFT
#define SI_LOAD_SHIFT 16 /* include/uapi/linux/sysinfo.h */
#endif

int uptime_render(uint64_t uptime_cs, uint64_t idle_cs, struct buf *out)
{
	buf_put_centi(out, uptime_cs);
	buf_putc(out, ' ');
	buf_put_centi(out, idle_cs);
	buf_putc(out, '\n');
	return buf_result(out);
}

/*
 * kernel/sched/loadavg.c calc_load(): newload = load * exp + active * (FIXED_1 - exp), rounded
 * up while the load is rising, then scaled back. The kernel's @active is already fixed point;
 * ours is a task count. Computed in 128 bits so that absurd inputs saturate instead of wrapping.
 */
uint64_t loadavg_step(uint64_t load, uint64_t exp, uint64_t active)
{
	unsigned __int128 act = (unsigned __int128)active * LOADAVG_FIXED_1;
	unsigned __int128 n;

	if (exp > LOADAVG_FIXED_1)
		exp = LOADAVG_FIXED_1;
	n = (unsigned __int128)load * exp + act * (LOADAVG_FIXED_1 - exp);
	if (act >= load)
		n += LOADAVG_FIXED_1 - 1;
	n /= LOADAVG_FIXED_1;
	return n > UINT64_MAX ? UINT64_MAX : (uint64_t)n;
}

/* "I.FF" (any number of fraction digits, at most 9 used) to fixed point, rounded to nearest,
 * so that loadavg_render() gives back the same two digits. */
static int load_parse(struct span w, uint64_t *ret)
{
	uint64_t ip = 0, frac = 0, scale = 1;
	size_t i = 0;

	if (w.len == 0)
		return -EINVAL;
	for (; i < w.len && w.p[i] != '.'; i++) {
		if (w.p[i] < '0' || w.p[i] > '9' || ip > (UINT64_MAX >> LOADAVG_FSHIFT) / 10 - 1)
			return -EINVAL;
		ip = ip * 10 + (uint64_t)(w.p[i] - '0');
	}
	if (i == 0)
		return -EINVAL;
	if (i < w.len) {
		i++; /* '.' */
		if (i == w.len)
			return -EINVAL;
		for (; i < w.len; i++) {
			if (w.p[i] < '0' || w.p[i] > '9')
				return -EINVAL;
			if (scale < 1000000000) {
				frac = frac * 10 + (uint64_t)(w.p[i] - '0');
				scale *= 10;
			}
		}
	}
	*ret = (ip << LOADAVG_FSHIFT) + (frac * LOADAVG_FIXED_1 + scale / 2) / scale;
	return 0;
}

int loadavg_parse(struct span host_loadavg, struct loadavg *ret)
{
	struct span rest = span_trim(host_loadavg), w, run, tot;
	struct loadavg l = {0};
	const char *slash;
	int r;

	for (int i = 0; i < 3; i++) {
		if (!word_next(&rest, &w))
			return -EINVAL;
		r = load_parse(w, &l.avg[i]);
		if (r < 0)
			return r;
	}
	if (!word_next(&rest, &w))
		return -EINVAL;
	slash = memchr(w.p, '/', w.len);
	if (!slash)
		return -EINVAL;
	run = (struct span){w.p, (size_t)(slash - w.p)};
	tot = (struct span){slash + 1, w.len - run.len - 1};
	if (run.len == 0 || tot.len == 0 || parse_u64(run, &l.running) < 0 ||
	    parse_u64(tot, &l.total) < 0)
		return -EINVAL;
	if (!word_next(&rest, &w) || parse_u64(w, &l.lastpid) < 0 || word_next(&rest, &w))
		return -EINVAL;
	/* parse_u64() takes "max": not a number here. */
	if (l.running == UINT64_MAX || l.total == UINT64_MAX || l.lastpid == UINT64_MAX)
		return -EINVAL;
	*ret = l;
	return 0;
}

/* fs/proc/loadavg.c: LOAD_INT(a + FIXED_1/200) "." LOAD_FRAC(a + FIXED_1/200), i.e. rounded to
 * the nearest hundredth. */
static void load_put(struct buf *out, uint64_t a)
{
	uint64_t x = sat_add(a, LOADAVG_FIXED_1 / 200);
	uint64_t ip = x >> LOADAVG_FSHIFT;
	uint64_t fp = ((x & (LOADAVG_FIXED_1 - 1)) * 100) >> LOADAVG_FSHIFT;

	buf_put_u64(out, ip);
	buf_putc(out, '.');
	buf_putc(out, (char)('0' + fp / 10));
	buf_putc(out, (char)('0' + fp % 10));
}

int loadavg_render(const struct loadavg *l, struct buf *out)
{
	for (int i = 0; i < 3; i++) {
		load_put(out, l->avg[i]);
		buf_putc(out, ' ');
	}
	buf_put_u64(out, l->running);
	buf_putc(out, '/');
	buf_put_u64(out, l->total);
	buf_putc(out, ' ');
	buf_put_u64(out, l->lastpid);
	buf_putc(out, '\n');
	return buf_result(out);
}

/* Counters of one device, from the cgroup's I/O files. */
struct io_dev {
	bool found;
	uint64_t rios, rbytes, wios, wbytes, dios, dbytes;
};

/* "MAJ:MIN" */
static bool devnum_parse(struct span w, uint64_t *ret_major, uint64_t *ret_minor)
{
	const char *colon = memchr(w.p, ':', w.len);
	struct span a, b;

	if (!colon)
		return false;
	a = (struct span){w.p, (size_t)(colon - w.p)};
	b = (struct span){colon + 1, w.len - a.len - 1};
	if (a.len == 0 || b.len == 0 || parse_u64(a, ret_major) < 0 || parse_u64(b, ret_minor) < 0)
		return false;
	return true;
}

/* The counters of one v2 io.stat line ("8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6";
 * unknown keys ignored) into @d. false when the line does not start with a device number. */
static bool iostat_line(struct span line, uint64_t *ret_major, uint64_t *ret_minor,
			struct io_dev *d)
{
	struct span w;

	if (!word_next(&line, &w) || !devnum_parse(w, ret_major, ret_minor))
		return false;
	d->found = true;
	while (word_next(&line, &w)) {
		const char *eq = memchr(w.p, '=', w.len);
		struct span k, val;
		uint64_t v;

		if (!eq)
			continue;
		k = (struct span){w.p, (size_t)(eq - w.p)};
		val = (struct span){eq + 1, w.len - k.len - 1};
		if (parse_u64(val, &v) < 0)
			continue;
		if (span_eq(k, "rbytes"))
			d->rbytes = v;
		else if (span_eq(k, "wbytes"))
			d->wbytes = v;
		else if (span_eq(k, "rios"))
			d->rios = v;
		else if (span_eq(k, "wios"))
			d->wios = v;
		else if (span_eq(k, "dbytes"))
			d->dbytes = v;
		else if (span_eq(k, "dios"))
			d->dios = v;
	}
	return true;
}

static void iostat_find(struct span text, uint64_t major, uint64_t minor, struct io_dev *d)
{
	struct span line;

	while (line_next(&text, &line)) {
		struct io_dev cur = {0};
		uint64_t ma, mi;

		if (iostat_line(line, &ma, &mi, &cur) && ma == major && mi == minor)
			*d = cur;
	}
}

/* One v1 blkio.throttle.* line ("8:0 Read 10"; the last line of the file is "Total N", which
 * names no device). false for a line without a device and a value. */
/* The "MAJ:MIN" word of a blkio line; @line is left at what follows. */
static bool blkio_dev(struct span *line, uint64_t *ret_major, uint64_t *ret_minor)
{
	struct span dev;

	return word_next(line, &dev) && devnum_parse(dev, ret_major, ret_minor);
}

/* The "OP VALUE" rest of a blkio line. */
static bool blkio_op(struct span rest, struct span *ret_op, uint64_t *ret_value)
{
	struct span val;

	return word_next(&rest, ret_op) && word_next(&rest, &val) && parse_u64(val, ret_value) >= 0;
}

static bool blkio_line(struct span line, uint64_t *ret_major, uint64_t *ret_minor,
		       struct span *ret_op, uint64_t *ret_value)
{
	return blkio_dev(&line, ret_major, ret_minor) && blkio_op(line, ret_op, ret_value);
}

/* v1 blkio.throttle.io_serviced / io_service_bytes: "8:0 Read 10" lines (plus Write, Sync,
 * Async, Discard, Total, and a final "Total N"). */
static void blkio_find(struct span text, uint64_t major, uint64_t minor, uint64_t *r, uint64_t *w,
		       uint64_t *dis, bool *found)
{
	struct span line;

	while (line_next(&text, &line)) {
		struct span op;
		uint64_t ma, mi, v;

		/* the device first: each host disk scans the whole file, most lines are others' */
		if (!blkio_dev(&line, &ma, &mi) || ma != major || mi != minor ||
		    !blkio_op(line, &op, &v))
			continue;
		*found = true;
		if (span_eq(op, "Read"))
			*r = v;
		else if (span_eq(op, "Write"))
			*w = v;
		else if (span_eq(op, "Discard"))
			*dis = v;
	}
}

void io_totals(struct span iostat, struct span v1_bytes, uint64_t *ret_read, uint64_t *ret_write)
{
	uint64_t r = 0, w = 0;
	struct span line;

	if (iostat.len > 0) {
		while (line_next(&iostat, &line)) {
			struct io_dev d = {0};
			uint64_t ma, mi;

			if (iostat_line(line, &ma, &mi, &d)) {
				r = sat_add(r, d.rbytes);
				w = sat_add(w, d.wbytes);
			}
		}
	} else {
		while (line_next(&v1_bytes, &line)) {
			struct span op;
			uint64_t ma, mi, v;

			if (!blkio_line(line, &ma, &mi, &op, &v))
				continue;
			if (span_eq(op, "Read"))
				r = sat_add(r, v);
			else if (span_eq(op, "Write"))
				w = sat_add(w, v);
		}
	}
	*ret_read = r;
	*ret_write = w;
}

static bool span_has_colon(struct span s)
{
	return s.len > 0 && memchr(s.p, ':', s.len);
}

bool diskstats_io_any(struct span iostat, struct span v1_serviced, struct span v1_bytes)
{
	if (iostat.len > 0)
		return span_has_colon(iostat);
	return span_has_colon(v1_serviced) || span_has_colon(v1_bytes);
}

int diskstats_render(struct span host_diskstats, struct span iostat, struct span v1_serviced,
		     struct span v1_bytes, struct buf *out)
{
	struct span rest = host_diskstats, line;

	/* A device is only ever found on a "MAJ:MIN" word: without any ':' in the cgroup's files
	 * (a cgroup that did no I/O: "Total 0") no line is shown, and the host file need not be
	 * read through. */
	if (!diskstats_io_any(iostat, v1_serviced, v1_bytes))
		return buf_result(out);
	while (line_next(&rest, &line)) {
		struct span wmaj, wmin, name;
		struct io_dev d = {0};
		uint64_t major, minor;

		if (!word_next(&line, &wmaj) || !word_next(&line, &wmin) ||
		    !word_next(&line, &name) || parse_u64(wmaj, &major) < 0 ||
		    parse_u64(wmin, &minor) < 0 || major == UINT64_MAX || minor == UINT64_MAX)
			continue;
		if (iostat.len > 0)
			iostat_find(iostat, major, minor, &d);
		else {
			blkio_find(v1_serviced, major, minor, &d.rios, &d.wios, &d.dios, &d.found);
			blkio_find(v1_bytes, major, minor, &d.rbytes, &d.wbytes, &d.dbytes,
				   &d.found);
		}
		if (!d.found || (d.rios | d.rbytes | d.wios | d.wbytes | d.dios | d.dbytes) == 0)
			continue;

		/* block/genhd.c diskstats_show(): "%4d %7d %s" then 17 counters: reads
		 * (ios merges sectors ticks), writes (same), in_flight io_ticks time_in_queue,
		 * discards (ios merges sectors ticks), flushes (ios ticks). The cgroup has no
		 * merge, time or queue numbers: 0. */
		buf_put_u64_width(out, major, 4);
		buf_putc(out, ' ');
		buf_put_u64_width(out, minor, 7);
		buf_putc(out, ' ');
		buf_putn(out, name.p, name.len);
		{
			const uint64_t f[17] = {
				d.rios, 0, d.rbytes / 512, 0, d.wios, 0, d.wbytes / 512, 0, 0, 0, 0,
				d.dios, 0, d.dbytes / 512, 0, 0,      0,
			};

			for (size_t i = 0; i < 17; i++) {
				buf_putc(out, ' ');
				buf_put_u64(out, f[i]);
			}
		}
		buf_putc(out, '\n');
	}
	return buf_result(out);
}

/* The span of field 22 (starttime). Fields are counted after the LAST ')': comm (field 2) may
 * hold anything, ')' included. */
static int starttime_span(struct span s, struct span *ret)
{
	const char *close = NULL;
	struct span rest, w;

	for (size_t i = s.len; i > 0; i--)
		if (s.p[i - 1] == ')') {
			close = s.p + i - 1;
			break;
		}
	if (!close)
		return -EINVAL;
	rest = (struct span){close + 1, s.len - (size_t)(close + 1 - s.p)};
	/* Stop at the end of the line. */
	{
		const char *nl = memchr(rest.p, '\n', rest.len);

		if (nl)
			rest.len = (size_t)(nl - rest.p);
	}
	for (int field = 3; field <= 22; field++)
		if (!word_next(&rest, &w))
			return -EINVAL;
	*ret = w;
	return 0;
}

int pidstat_starttime(struct span pidstat, uint64_t *ret_ticks)
{
	struct span w;
	uint64_t v;
	int r;

	r = starttime_span(pidstat, &w);
	if (r < 0)
		return r;
	if (parse_u64(w, &v) < 0 || v == UINT64_MAX)
		return -EINVAL;
	*ret_ticks = v;
	return 0;
}

int pidstat_render(struct span host_pidstat, uint64_t shift_ticks, struct buf *out)
{
	struct span w;
	uint64_t v;
	size_t before;
	int r;

	r = starttime_span(host_pidstat, &w);
	if (r < 0)
		return r;
	if (parse_u64(w, &v) < 0 || v == UINT64_MAX)
		return -EINVAL;
	before = (size_t)(w.p - host_pidstat.p);
	buf_putn(out, host_pidstat.p, before);
	buf_put_u64(out, sat_sub(v, shift_ticks));
	buf_putn(out, w.p + w.len, host_pidstat.len - before - w.len);
	return buf_result(out);
}

void sysinfo_apply(const struct mem_view *v, uint64_t uptime_s, const struct loadavg *l,
		   struct sysinfo *si)
{
	/* Bytes, computed in 128 bits: kB values near UINT64_MAX must not wrap. */
	unsigned __int128 vals[6] = {
		(unsigned __int128)v->total * 1024,	 (unsigned __int128)v->free * 1024,
		(unsigned __int128)v->shmem * 1024,	 (unsigned __int128)v->buffers * 1024,
		(unsigned __int128)v->swap_total * 1024, (unsigned __int128)v->swap_free * 1024,
	};
	unsigned __int128 max = 0;
	uint64_t unit = 1;

	for (int i = 0; i < 6; i++)
		if (vals[i] > max)
			max = vals[i];
	/* The kernel reports bytes with mem_unit 1 when they fit an unsigned long (always on
	 * 64-bit); otherwise the smallest power of two that makes them fit. */
	while (max / unit > ULONG_MAX && unit < (UINT64_C(1) << 31))
		unit <<= 1;

	si->mem_unit = (unsigned int)unit;
	si->totalram = (unsigned long)(vals[0] / unit);
	si->freeram = (unsigned long)(vals[1] / unit);
	si->sharedram = (unsigned long)(vals[2] / unit);
	si->bufferram = (unsigned long)(vals[3] / unit);
	si->totalswap = (unsigned long)(vals[4] / unit);
	si->freeswap = (unsigned long)(vals[5] / unit);
	si->totalhigh = 0;
	si->freehigh = 0;
	si->uptime = uptime_s > LONG_MAX ? LONG_MAX : (long)uptime_s;
	for (int i = 0; i < 3; i++) {
		uint64_t a = l->avg[i];

		/* fixed point FSHIFT 11 to SI_LOAD_SHIFT 16 */
		if (a > (ULONG_MAX >> (SI_LOAD_SHIFT - LOADAVG_FSHIFT)))
			si->loads[i] = ULONG_MAX;
		else
			si->loads[i] = (unsigned long)(a << (SI_LOAD_SHIFT - LOADAVG_FSHIFT));
	}
}

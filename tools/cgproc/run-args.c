/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Value parsers for `cgproc run` (see run-args.h). Exact integer arithmetic: "1.5G" is
 * 1610612736 bytes, not whatever a double rounds it to.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "run-args.h"

/* A non-negative decimal "I[.F]": integer part and the fraction as num / den (den = 10^digits).
 * Returns the number of characters consumed, or -EINVAL / -ERANGE. */
static int decimal_scan(const char *s, uint64_t *ret_int, uint64_t *ret_num, uint64_t *ret_den,
			unsigned max_decimals)
{
	uint64_t ip = 0, num = 0, den = 1;
	const char *p = s;
	unsigned decimals = 0;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (ip > (UINT64_MAX - d) / 10)
			return -ERANGE;
		ip = ip * 10 + d;
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++) {
			if (++decimals > max_decimals)
				return -EINVAL;
			num = num * 10 + (uint64_t)(*p - '0');
			den *= 10;
		}
	}
	*ret_int = ip;
	*ret_num = num;
	*ret_den = den;
	return (int)(p - s);
}

int size_parse(const char *s, uint64_t *ret)
{
	uint64_t ip, num, den, mult = 1;
	unsigned __int128 bytes;
	const char *p;
	int n;

	n = decimal_scan(s, &ip, &num, &den, 9);
	if (n < 0)
		return n;
	p = s + n;
	switch (tolower((unsigned char)*p)) {
	case 't':
		mult <<= 10;
		/* fall through */
	case 'g':
		mult <<= 10;
		/* fall through */
	case 'm':
		mult <<= 10;
		/* fall through */
	case 'k':
		mult <<= 10;
		p++;
		if (strcasecmp(p, "ib") == 0)
			p += 2;
		else if (strcasecmp(p, "b") == 0)
			p++;
		break;
	case 'b':
		p++;
		break;
	case 0:
		break;
	default:
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	if (mult == 1 && num != 0)
		return -EINVAL; /* "1.5" bytes */
	bytes = (unsigned __int128)ip * mult + (unsigned __int128)num * mult / den;
	if (bytes > UINT64_MAX)
		return -ERANGE;
	*ret = (uint64_t)bytes;
	return 0;
}

static int u64_scan_all(const char *s, uint64_t *ret)
{
	uint64_t ip, num, den;
	int n;

	n = decimal_scan(s, &ip, &num, &den, 0);
	if (n < 0)
		return n;
	if (s[n])
		return -EINVAL;
	*ret = ip;
	return 0;
}

int quota_parse(const char *s, uint64_t *ret_quota_us, uint64_t *ret_period_us)
{
	const char *slash = strchr(s, '/');
	uint64_t quota, period = QUOTA_PERIOD_DEFAULT_US;
	int r;

	if (slash) {
		char q[32];
		size_t len = (size_t)(slash - s);

		if (len == 0 || len >= sizeof(q))
			return -EINVAL;
		memcpy(q, s, len);
		q[len] = 0;
		r = u64_scan_all(q, &quota);
		if (r < 0)
			return r;
		r = u64_scan_all(slash + 1, &period);
		if (r < 0)
			return r;
	} else {
		uint64_t ip, num, den;
		unsigned __int128 q;
		int n;

		n = decimal_scan(s, &ip, &num, &den, 6);
		if (n < 0)
			return n;
		if (s[n])
			return -EINVAL;
		q = (unsigned __int128)ip * period + (unsigned __int128)num * period / den;
		if (q > UINT64_MAX)
			return -ERANGE;
		quota = (uint64_t)q;
	}
	/* kernel/sched/core.c: min_cfs_quota_period 1 ms, max_cfs_quota_period 1 s; a quota
	 * below 1 ms is refused with EINVAL. */
	if (period < 1000 || period > 1000000 || quota < 1000)
		return -ERANGE;
	*ret_quota_us = quota;
	*ret_period_us = period;
	return 0;
}

bool cgname_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 200 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
			return false;
	return true;
}

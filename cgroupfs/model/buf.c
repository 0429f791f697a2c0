/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bounded text output: see buf.h. No allocation, no stdio, async-signal-safe. */
#include <errno.h>
#include <string.h>

#include "buf.h"

void buf_putn(struct buf *b, const char *s, size_t n)
{
	size_t room = b->cap - b->len;
	size_t take = n < room ? n : room;

	if (take > 0)
		memcpy(b->data + b->len, s, take);
	b->len += take;
	b->need += n;
}

void buf_puts(struct buf *b, const char *s)
{
	buf_putn(b, s, strlen(s));
}

void buf_putc(struct buf *b, char c)
{
	if (b->len < b->cap)
		b->data[b->len++] = c;
	b->need++;
}

size_t buf_u64_digits(uint64_t v, char d[20])
{
	size_t n = 0;

	do {
		d[19 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	return n;
}

void buf_put_u64(struct buf *b, uint64_t v)
{
	char d[20];
	size_t n = buf_u64_digits(v, d);

	buf_putn(b, d + 20 - n, n);
}

void buf_put_u64_width(struct buf *b, uint64_t v, unsigned width)
{
	char d[20];
	size_t n = buf_u64_digits(v, d);

	if (n < width)
		buf_put_spaces(b, width - n);
	buf_putn(b, d + 20 - n, n);
}

void buf_put_spaces(struct buf *b, size_t n)
{
	static const char spaces[] = "                                ";

	while (n > sizeof(spaces) - 1) {
		buf_putn(b, spaces, sizeof(spaces) - 1);
		n -= sizeof(spaces) - 1;
	}
	buf_putn(b, spaces, n);
}

void buf_put_centi(struct buf *b, uint64_t hundredths)
{
	uint64_t frac = hundredths % 100;

	buf_put_u64(b, hundredths / 100);
	buf_putc(b, '.');
	buf_putc(b, (char)('0' + frac / 10));
	buf_putc(b, (char)('0' + frac % 10));
}

int buf_result(const struct buf *b)
{
	return b->need > b->cap ? -ENOBUFS : 0;
}

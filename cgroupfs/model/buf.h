/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bounded text output into caller-owned memory.
 *
 * Every renderer in model/ writes through a struct buf. The buffer never allocates: the caller
 * hands in memory (stack, mmap, malloc: its choice) and learns from buf_result() whether it was
 * big enough. That keeps renderers usable from the shim's signal-handler path, where malloc and
 * stdio are off limits. Formatting is done here by hand for the same reason (no snprintf).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data;
	size_t len;  /* bytes written so far (never more than cap) */
	size_t cap;  /* bytes available at data */
	size_t need; /* bytes the output would take without the cap */
};

static inline void buf_init(struct buf *b, char *mem, size_t cap)
{
	b->data = mem;
	b->len = 0;
	b->cap = cap;
	b->need = 0;
}

void buf_putn(struct buf *b, const char *s, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
/* Decimal, no padding. */
void buf_put_u64(struct buf *b, uint64_t v);
/* Decimal, right-aligned in a field of @width characters (like "%*lu"). */
void buf_put_u64_width(struct buf *b, uint64_t v, unsigned width);
/* @n spaces (padding), in bulk. */
void buf_put_spaces(struct buf *b, size_t n);
/* @hundredths as "I.FF" (like "%.2f" of hundredths / 100.0). */
void buf_put_centi(struct buf *b, uint64_t hundredths);

/*
 * Direct writes for renderers that build a line in place: buf_room() is where @n bytes go when
 * they all fit (NULL otherwise: use the put functions, which cut and count), buf_commit() then
 * counts the @n bytes written there.
 */
static inline char *buf_room(struct buf *b, size_t n)
{
	return b->cap - b->len >= n && b->need == b->len ? b->data + b->len : NULL;
}

static inline void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
	b->need += n;
}

/* The decimal digits of @v at the end of @d[20]; returns their count. */
size_t buf_u64_digits(uint64_t v, char d[20]);

/* 0 when everything fit, -ENOBUFS when output was cut (b->need says how much was wanted). */
int buf_result(const struct buf *b);

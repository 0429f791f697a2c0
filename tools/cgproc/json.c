/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * JSON for OCI documents: see json.h. Grammar from RFC 8259; the parser is recursive descent
 * with an explicit depth bound, so a hostile document cannot exhaust the stack.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"

#define ARENA_CHUNK 16384

struct chunk {
	struct chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct json_doc {
	struct chunk *chunks;
	struct json *root;
	char *text; /* the parsed copy; leaves point into it */
};

static void *arena_alloc(struct json_doc *doc, size_t size)
{
	struct chunk *c = doc->chunks;

	size = (size + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
	if (!c || c->size - c->used < size) {
		size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->size = cap;
		c->used = 0;
		c->next = doc->chunks;
		doc->chunks = c;
	}
	c->used += size;
	return (char *)c->data + c->used - size;
}

void json_doc_free(struct json_doc *doc)
{
	if (!doc)
		return;
	while (doc->chunks) {
		struct chunk *c = doc->chunks;

		doc->chunks = c->next;
		free(c);
	}
	free(doc->text);
	free(doc);
}

struct json *json_root(struct json_doc *doc)
{
	return doc->root;
}

struct parser {
	struct json_doc *doc;
	const char *p, *end;
	int err;
};

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Scans a string literal at ps->p (the opening quote); leaves ps->p after the closing one. */
static int scan_string(struct parser *ps)
{
	ps->p++;
	while (ps->p < ps->end) {
		unsigned char c = (unsigned char)*ps->p++;

		if (c == '"')
			return 0;
		if (c < 0x20)
			return -EBADMSG;
		if (c != '\\')
			continue;
		if (ps->p >= ps->end)
			return -EBADMSG;
		c = (unsigned char)*ps->p++;
		if (c == 'u') {
			if (ps->end - ps->p < 4 || !is_hex(ps->p[0]) || !is_hex(ps->p[1]) ||
			    !is_hex(ps->p[2]) || !is_hex(ps->p[3]))
				return -EBADMSG;
			ps->p += 4;
		} else if (!strchr("\"\\/bfnrt", c) || c == 0) {
			return -EBADMSG;
		}
	}
	return -EBADMSG;
}

static int scan_number(struct parser *ps)
{
	const char *p = ps->p;

	if (p < ps->end && *p == '-')
		p++;
	if (p >= ps->end)
		return -EBADMSG;
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	} else {
		return -EBADMSG;
	}
	if (p < ps->end && *p == '.') {
		p++;
		if (p >= ps->end || *p < '0' || *p > '9')
			return -EBADMSG;
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= ps->end || *p < '0' || *p > '9')
			return -EBADMSG;
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	ps->p = p;
	return 0;
}

static struct json *parse_value(struct parser *ps, int depth);

static struct json *node_new(struct parser *ps, enum json_type type)
{
	struct json *v = json_new(ps->doc, type);

	if (!v)
		ps->err = -ENOMEM;
	return v;
}

static struct json *parse_container(struct parser *ps, int depth, bool object)
{
	struct json *v = node_new(ps, object ? JSON_OBJECT : JSON_ARRAY);
	char close = object ? '}' : ']';

	if (!v)
		return NULL;
	if (depth >= JSON_MAX_DEPTH) {
		ps->err = -ELOOP;
		return NULL;
	}
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return v;
	}
	for (;;) {
		const char *key = NULL;
		size_t key_len = 0;
		struct json *e;

		skip_ws(ps);
		if (object) {
			if (ps->p >= ps->end || *ps->p != '"')
				goto bad;
			key = ps->p;
			if (scan_string(ps) < 0)
				goto bad;
			key_len = (size_t)(ps->p - key);
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				goto bad;
			ps->p++;
		}
		e = parse_value(ps, depth + 1);
		if (!e)
			return NULL;
		e->key = key;
		e->key_len = key_len;
		json_append(v, e);
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return v;
		}
		goto bad;
	}
bad:
	ps->err = -EBADMSG;
	return NULL;
}

static struct json *parse_value(struct parser *ps, int depth)
{
	static const struct {
		const char *word;
		enum json_type type;
	} words[] = {{"null", JSON_NULL}, {"false", JSON_FALSE}, {"true", JSON_TRUE}};
	const char *start;
	struct json *v;

	skip_ws(ps);
	if (ps->p >= ps->end) {
		ps->err = -EBADMSG;
		return NULL;
	}
	if (*ps->p == '{' || *ps->p == '[')
		return parse_container(ps, depth, *ps->p == '{');
	start = ps->p;
	if (*ps->p == '"') {
		if (scan_string(ps) < 0)
			goto bad;
		v = node_new(ps, JSON_STRING);
	} else if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) {
		if (scan_number(ps) < 0)
			goto bad;
		v = node_new(ps, JSON_NUMBER);
	} else {
		size_t i;

		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
			size_t n = strlen(words[i].word);

			if ((size_t)(ps->end - ps->p) >= n &&
			    memcmp(ps->p, words[i].word, n) == 0) {
				ps->p += n;
				break;
			}
		}
		if (i == sizeof(words) / sizeof(words[0]))
			goto bad;
		v = node_new(ps, words[i].type);
	}
	if (v) {
		v->raw = start;
		v->raw_len = (size_t)(ps->p - start);
	}
	return v;
bad:
	ps->err = -EBADMSG;
	return NULL;
}

int json_parse(const char *text, size_t len, struct json_doc **ret_doc, size_t *ret_offset)
{
	struct json_doc *doc = calloc(1, sizeof(*doc));
	struct parser ps;

	if (!doc)
		return -ENOMEM;
	doc->text = malloc(len + 1);
	if (!doc->text) {
		json_doc_free(doc);
		return -ENOMEM;
	}
	memcpy(doc->text, text, len);
	doc->text[len] = 0;
	ps = (struct parser){.doc = doc, .p = doc->text, .end = doc->text + len};
	doc->root = parse_value(&ps, 0);
	if (doc->root) {
		skip_ws(&ps);
		if (ps.p != ps.end)
			ps.err = -EBADMSG;
	}
	if (ps.err < 0 || !doc->root) {
		if (ret_offset)
			*ret_offset = (size_t)(ps.p - doc->text);
		json_doc_free(doc);
		return ps.err < 0 ? ps.err : -EBADMSG;
	}
	*ret_doc = doc;
	return 0;
}

static void put_utf8(char *out, size_t *n, uint32_t cp)
{
	if (cp < 0x80) {
		out[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (char)(0xc0 | (cp >> 6));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xe0 | (cp >> 12));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*n)++] = (char)(0xf0 | (cp >> 18));
		out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

static uint32_t hex4(const char *p)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v = v * 16 + (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/* Decodes the quoted literal @raw (validated by scan_string) into @buf. */
static int unquote(const char *raw, size_t raw_len, char *buf, size_t size)
{
	const char *p = raw + 1, *end = raw + raw_len - 1;
	size_t n = 0;

	while (p < end) {
		char tmp[4];
		size_t k = 0;

		if (*p != '\\') {
			tmp[k++] = *p++;
		} else {
			char c = p[1];

			p += 2;
			if (c == 'u') {
				uint32_t cp = hex4(p);

				p += 4;
				if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 6 && p[0] == '\\' &&
				    p[1] == 'u') {
					uint32_t lo = hex4(p + 2);

					if (lo >= 0xdc00 && lo < 0xe000) {
						cp = 0x10000 + ((cp - 0xd800) << 10) +
						     (lo - 0xdc00);
						p += 6;
					}
				}
				if (cp == 0 || (cp >= 0xd800 && cp < 0xe000))
					return -EINVAL;
				put_utf8(tmp, &k, cp);
			} else {
				const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";

				tmp[k++] = to[strchr(from, c) - from];
			}
		}
		if (n + k >= size)
			return -ENAMETOOLONG;
		memcpy(buf + n, tmp, k);
		n += k;
	}
	if (n >= size)
		return -ENAMETOOLONG;
	buf[n] = 0;
	return (int)n;
}

int json_string(const struct json *v, char *buf, size_t size)
{
	if (!v || v->type != JSON_STRING || size == 0)
		return -EINVAL;
	return unquote(v->raw, v->raw_len, buf, size);
}

/* Compares the quoted literal @raw with @s, decoding only when escapes are present. */
static bool raw_equals(const char *raw, size_t raw_len, const char *s)
{
	size_t n = strlen(s);
	char buf[256];

	if (raw_len == n + 2 && memcmp(raw + 1, s, n) == 0)
		return true;
	if (!memchr(raw, '\\', raw_len) || n >= sizeof(buf))
		return false;
	return unquote(raw, raw_len, buf, sizeof(buf)) == (int)n && strcmp(buf, s) == 0;
}

bool json_is_string(const struct json *v, const char *s)
{
	return v && v->type == JSON_STRING && raw_equals(v->raw, v->raw_len, s);
}

bool json_integer(const struct json *v, long long min, long long max, long long *ret)
{
	char buf[32], *end;
	long long n;

	if (!v || v->type != JSON_NUMBER || v->raw_len >= sizeof(buf))
		return false;
	memcpy(buf, v->raw, v->raw_len);
	buf[v->raw_len] = 0;
	errno = 0;
	n = strtoll(buf, &end, 10);
	if (errno || *end || n < min || n > max)
		return false;
	*ret = n;
	return true;
}

struct json *json_get(const struct json *obj, const char *key)
{
	struct json *found = NULL;

	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (struct json *m = obj->first; m; m = m->next)
		if (raw_equals(m->key, m->key_len, key))
			found = m;
	return found;
}

struct json *json_get_path(const struct json *obj, ...)
{
	struct json *v = (struct json *)obj;
	const char *key;
	va_list ap;

	va_start(ap, obj);
	while (v && (key = va_arg(ap, const char *)))
		v = json_get(v, key);
	va_end(ap);
	return v;
}

struct json *json_new(struct json_doc *doc, enum json_type type)
{
	static const char *const words[] = {
		[JSON_NULL] = "null", [JSON_FALSE] = "false", [JSON_TRUE] = "true"};
	struct json *v = arena_alloc(doc, sizeof(*v));

	if (!v)
		return NULL;
	*v = (struct json){.type = type};
	if (type <= JSON_TRUE) {
		v->raw = words[type];
		v->raw_len = strlen(words[type]);
	}
	return v;
}

/* @s as a quoted JSON literal in @doc's arena. */
static char *quote(struct json_doc *doc, const char *s, size_t *ret_len)
{
	size_t n = strlen(s), k = 0;
	char *out = arena_alloc(doc, n * 6 + 3);

	if (!out)
		return NULL;
	out[k++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			out[k++] = '\\';
			out[k++] = (char)*p;
		} else if (*p < 0x20) {
			k += (size_t)sprintf(out + k, "\\u%04x", *p);
		} else {
			out[k++] = (char)*p;
		}
	}
	out[k++] = '"';
	*ret_len = k;
	return out;
}

struct json *json_new_string(struct json_doc *doc, const char *s)
{
	struct json *v = json_new(doc, JSON_STRING);

	if (v && !(v->raw = quote(doc, s, &v->raw_len)))
		return NULL;
	return v;
}

struct json *json_new_number(struct json_doc *doc, long long n)
{
	struct json *v = json_new(doc, JSON_NUMBER);
	char *text = arena_alloc(doc, 24);

	if (!v || !text)
		return NULL;
	v->raw_len = (size_t)snprintf(text, 24, "%lld", n);
	v->raw = text;
	return v;
}

void json_append(struct json *arr, struct json *v)
{
	v->next = NULL;
	if (arr->last)
		arr->last->next = v;
	else
		arr->first = v;
	arr->last = v;
}

void json_remove(struct json *parent, struct json *child)
{
	struct json *prev = NULL;

	for (struct json *e = parent->first; e; prev = e, e = e->next) {
		if (e != child)
			continue;
		if (prev)
			prev->next = e->next;
		else
			parent->first = e->next;
		if (parent->last == e)
			parent->last = prev;
		e->next = NULL;
		return;
	}
}

int json_set(struct json_doc *doc, struct json *obj, const char *key, struct json *v)
{
	struct json *old;

	if (!v)
		return -ENOMEM; /* a builder's NULL, passed straight on */
	old = json_get(obj, key);
	if (old) {
		v->key = old->key;
		v->key_len = old->key_len;
		v->next = old->next;
		for (struct json **pp = &obj->first; *pp; pp = &(*pp)->next)
			if (*pp == old) {
				*pp = v;
				break;
			}
		if (obj->last == old)
			obj->last = v;
		return 0;
	}
	v->key = quote(doc, key, &v->key_len);
	if (!v->key)
		return -ENOMEM;
	json_append(obj, v);
	return 0;
}

static void write_value(const struct json *v, FILE *f)
{
	if (v->type != JSON_ARRAY && v->type != JSON_OBJECT) {
		fwrite(v->raw, 1, v->raw_len, f);
		return;
	}
	fputc(v->type == JSON_OBJECT ? '{' : '[', f);
	for (const struct json *e = v->first; e; e = e->next) {
		if (e != v->first)
			fputc(',', f);
		if (v->type == JSON_OBJECT) {
			fwrite(e->key, 1, e->key_len, f);
			fputc(':', f);
		}
		write_value(e, f);
	}
	fputc(v->type == JSON_OBJECT ? '}' : ']', f);
}

int json_write(const struct json *v, FILE *f)
{
	write_value(v, f);
	return ferror(f) ? -EIO : 0;
}

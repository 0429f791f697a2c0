/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small JSON reader and writer for OCI documents (the runtime state a hook reads on stdin,
 * config.json, the seccomp listener's message, CDI specs). Input comes from other programs and
 * from container images, so parsing is strict (RFC 8259 grammar, no trailing data, bounded
 * nesting) and never aborts: bad input is an error the caller reports.
 *
 * Leaves keep their source text: a document parsed and written back unchanged reproduces every
 * number and string byte for byte (config.json carries uint64 limits that a double or an int64
 * would change). Nodes live in one arena per document, freed at once by json_doc_free().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json {
	enum json_type type;
	const char *raw; /* leaves: the literal as written (a string with its quotes) */
	size_t raw_len;
	const char *key; /* a member of an object: its key, quoted and escaped as written */
	size_t key_len;
	struct json *first, *last; /* arrays and objects: elements or members, in order */
	struct json *next;
};

struct json_doc;

#define JSON_MAX_DEPTH 64

/*
 * Parses @len bytes of @text (copied; @text need not outlive the document). *@ret_doc on
 * success; -EBADMSG for malformed input (then *@ret_offset, when not NULL, is where parsing
 * stopped), -ELOOP for nesting deeper than JSON_MAX_DEPTH, -ENOMEM.
 */
int json_parse(const char *text, size_t len, struct json_doc **ret_doc, size_t *ret_offset);
struct json *json_root(struct json_doc *doc);
void json_doc_free(struct json_doc *doc);

/* The value of member @key of object @obj (the last one if repeated); NULL if absent or @obj is
 * not an object. */
struct json *json_get(const struct json *obj, const char *key);
/* json_get() along a path of keys ending with NULL. */
struct json *json_get_path(const struct json *obj, ...);

/* Decodes string @v into @buf (NUL-terminated): its length, -EINVAL if @v is not a string, has an
 * escaped NUL or is not valid; -ENAMETOOLONG if it does not fit. */
int json_string(const struct json *v, char *buf, size_t size);
/* Is @v a string equal to @s? */
bool json_is_string(const struct json *v, const char *s);
/* Parses number @v as an integer within [@min, @max]. false on any error. */
bool json_integer(const struct json *v, long long min, long long max, long long *ret);

/* Builders: nodes in @doc's arena. NULL when out of memory. */
struct json *json_new(struct json_doc *doc, enum json_type type);
struct json *json_new_string(struct json_doc *doc, const char *s);
struct json *json_new_number(struct json_doc *doc, long long n);
/* Sets member @key of @obj to @v (replacing an existing one): 0 or -ENOMEM. */
int json_set(struct json_doc *doc, struct json *obj, const char *key, struct json *v);
void json_append(struct json *arr, struct json *v);
/* Removes @child from @parent (an array or object). */
void json_remove(struct json *parent, struct json *child);

/* Writes @v compactly to @f. 0 or -EIO. */
int json_write(const struct json *v, FILE *f);

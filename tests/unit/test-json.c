/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The OCI pieces' JSON reader/writer (tools/cgproc/json.c): grammar, round trip, limits, edits. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/cgproc/json.h"

static struct json_doc *parse_ok(const char *text)
{
	struct json_doc *doc = NULL;
	int r = json_parse(text, strlen(text), &doc, NULL);

	cr_assert_eq(r, 0, "json_parse(%s) = %d", text, r);
	return doc;
}

static char *write_str(const struct json *v)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cr_assert_not_null(f);
	cr_assert_eq(json_write(v, f), 0);
	fclose(f);
	return out;
}

Test(json, round_trip_keeps_every_literal)
{
	/* uint64 limits, exponents, escapes and unicode must come back byte for byte */
	static const char *const docs[] = {
		"{\"swappiness\":18446744073709551615,\"shares\":-9223372036854775808}",
		"[1.5e-300,0,-0.0,1E+2,true,false,null,\"\"]",
		"{\"s\":\"a\\\"b\\\\c\\/d\\u00e9\\ud83d\\ude00\\n\",\"\\u0041\":{}}",
		"[[[[]]],{\"a\":[{}]}]",
		"\"top-level string\"",
		"42",
	};

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct json_doc *doc = parse_ok(docs[i]);
		char *out = write_str(json_root(doc));

		cr_assert_str_eq(out, docs[i]);
		free(out);
		json_doc_free(doc);
	}
}

Test(json, whitespace_is_dropped_on_write)
{
	struct json_doc *doc = parse_ok(" {\n\t\"a\" : [ 1 , 2 ] ,\r\n\"b\":null } \n");
	char *out = write_str(json_root(doc));

	cr_assert_str_eq(out, "{\"a\":[1,2],\"b\":null}");
	free(out);
	json_doc_free(doc);
}

Test(json, malformed_input_is_an_error_not_a_crash)
{
	static const char *const bad[] = {
		"",	     " ",     "{",     "}",	    "[1,]",	   "{\"a\":1,}",
		"{\"a\"}",   "{a:1}", "[01]",  "[1.]",	    "[.5]",	   "[1e]",
		"[-]",	     "[+1]",  "\"abc", "\"\\x\"",   "\"\\u12G4\"", "[tru]",
		"[nul]",     "{} {}", "[1] x", "\"a\tb\"",  "{\"a\" 1}",   "[1 2]",
		"\"\\u12\"", "[\"\\", "[1,2",  "{\"a\":[}", "\xff",	   "nan",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct json_doc *doc = NULL;
		int r = json_parse(bad[i], strlen(bad[i]), &doc, NULL);

		cr_assert_eq(r, -EBADMSG, "json_parse(%s) = %d, want -EBADMSG", bad[i], r);
		cr_assert_null(doc);
	}
}

Test(json, embedded_nul_and_offset)
{
	struct json_doc *doc = NULL;
	size_t off = 99;

	cr_assert_eq(json_parse("[1]\0[2]", 7, &doc, &off), -EBADMSG);
	cr_assert_eq(off, 3);
}

Test(json, nesting_is_bounded)
{
	size_t n = 100000;
	char *deep = malloc(2 * n + 1);
	struct json_doc *doc = NULL;

	memset(deep, '[', n);
	memset(deep + n, ']', n);
	cr_assert_eq(json_parse(deep, 2 * n, &doc, NULL), -ELOOP);
	/* exactly the limit parses */
	cr_assert_eq(json_parse(deep + n - JSON_MAX_DEPTH, 2 * JSON_MAX_DEPTH, &doc, NULL), 0);
	json_doc_free(doc);
	cr_assert_eq(json_parse(deep + n - JSON_MAX_DEPTH - 1, 2 * JSON_MAX_DEPTH + 2, &doc, NULL),
		     -ELOOP);
	free(deep);
}

Test(json, lookups_and_strings)
{
	struct json_doc *doc = parse_ok("{\"id\":\"c1\",\"pid\":4422,\"big\":99999999999999999999,"
					"\"annotations\":{\"io.cgproc.view\":\"shim\"},"
					"\"k\\u0065y\":\"v\",\"dup\":1,\"dup\":2,"
					"\"nul\":\"a\\u0000b\",\"esc\":\"tab\\there\"}");
	struct json *root = json_root(doc);
	char buf[16];
	long long n;

	cr_assert_eq(json_string(json_get(root, "id"), buf, sizeof(buf)), 2);
	cr_assert_str_eq(buf, "c1");
	cr_assert(json_integer(json_get(root, "pid"), 1, 1 << 30, &n));
	cr_assert_eq(n, 4422);
	cr_assert_not(json_integer(json_get(root, "pid"), 1, 4000, &n));
	cr_assert_not(json_integer(json_get(root, "big"), 0, __LONG_LONG_MAX__, &n));
	cr_assert_not(json_integer(json_get(root, "id"), 0, 10, &n));
	cr_assert(
		json_is_string(json_get_path(root, "annotations", "io.cgproc.view", NULL), "shim"));
	cr_assert_null(json_get_path(root, "annotations", "missing", NULL));
	cr_assert_null(json_get_path(root, "id", "below-a-string", NULL));
	cr_assert(json_is_string(json_get(root, "key"), "v"), "escaped key matches");
	cr_assert(json_integer(json_get(root, "dup"), 0, 9, &n));
	cr_assert_eq(n, 2, "the last of repeated keys wins");
	cr_assert_eq(json_string(json_get(root, "nul"), buf, sizeof(buf)), -EINVAL);
	cr_assert_eq(json_string(json_get(root, "esc"), buf, sizeof(buf)), 8);
	cr_assert_str_eq(buf, "tab\there");
	cr_assert_eq(json_string(json_get(root, "esc"), buf, 8), -ENAMETOOLONG);
	cr_assert_eq(json_string(json_get(root, "pid"), buf, sizeof(buf)), -EINVAL);
	json_doc_free(doc);
}

Test(json, edits)
{
	struct json_doc *doc = parse_ok("{\"a\":[1,2,3],\"b\":{}}");
	struct json *root = json_root(doc), *a = json_get(root, "a");
	char *out;

	json_remove(a, a->first->next);
	json_append(a, json_new_string(doc, "q\"\n"));
	cr_assert_eq(json_set(doc, root, "b", json_new_number(doc, -7)), 0);
	cr_assert_eq(json_set(doc, root, "c", json_new(doc, JSON_TRUE)), 0);
	cr_assert_eq(json_set(doc, root, "c", NULL), -ENOMEM);
	json_remove(a, a->last);
	json_remove(a, a->first);
	json_append(a, json_new(doc, JSON_NULL));
	out = write_str(root);
	cr_assert_str_eq(out, "{\"a\":[3,null],\"b\":-7,\"c\":true}");
	free(out);
	json_doc_free(doc);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the OCI pieces' JSON reader (tools/cgproc/json.c), which reads documents from runtimes and
 * container images: any input either fails with one of the documented errors or parses into a
 * document whose compact form parses again to the same bytes; every string decodes or fails
 * cleanly, and the accessors the hook and the agent use never crash.
 */
#include <errno.h>
#include <stdlib.h>

#include "fuzz.h"
#include "json.h"

static void walk(const struct json *v, int depth)
{
	char buf[64];
	long long n;

	FUZZ_CHECK(depth <= JSON_MAX_DEPTH);
	if (v->type == JSON_STRING) {
		int r = json_string(v, buf, sizeof(buf));

		FUZZ_CHECK(r >= 0 || r == -EINVAL || r == -ENAMETOOLONG);
	}
	json_integer(v, -100, 100, &n);
	json_get(v, "fds");
	for (const struct json *e = v->first; e; e = e->next)
		walk(e, depth + 1);
}

static char *dump(const struct json *v, size_t *len)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, len);

	FUZZ_CHECK(f);
	FUZZ_CHECK(json_write(v, f) == 0);
	fclose(f);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_doc *doc = NULL, *again = NULL;
	size_t off = 0, len1, len2;
	char *out1, *out2;
	int r = json_parse((const char *)data, size, &doc, &off);

	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -ELOOP);
		FUZZ_CHECK(!doc && off <= size);
		return 0;
	}
	walk(json_root(doc), 0);
	out1 = dump(json_root(doc), &len1);
	FUZZ_CHECK(json_parse(out1, len1, &again, NULL) == 0);
	out2 = dump(json_root(again), &len2);
	FUZZ_CHECK(len1 == len2 && memcmp(out1, out2, len1) == 0);
	free(out1);
	free(out2);
	json_doc_free(again);
	json_doc_free(doc);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the per-node meminfo renderer (model/nodemem.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "model/nodemem.h"

static struct span S(const char *s) {
	return (struct span){s, strlen(s)};
}

static const char host[] = "Node 0 MemTotal:       24683772 kB\n"
			   "Node 0 MemFree:        20852788 kB\n"
			   "Node 0 MemUsed:         3830984 kB\n"
			   "Node 0 SwapCached:            0 kB\n"
			   "Node 0 Active(anon):        456 kB\n"
			   "Node 0 FilePages:       2308900 kB\n"
			   "Node 0 KernelStack:        4352 kB\n"
			   "Node 0 PageTables:    999999999 kB\n"
			   "Node 0 HugePages_Total:     0\n"
			   "Node 0 HugePages_Free:      7\n";

static void render(const struct mem_view *v, const char *h, char *out, size_t size)
{
	struct buf b;

	buf_init(&b, out, size - 1);
	cr_assert_eq(nodememinfo_render(S(h), v, &b), 0);
	out[b.len] = '\0';
}

Test(nodemem, machine_figures_host_layout)
{
	struct mem_view v = {.total = 524288, .free = 500000, .active_anon = 1234, .cached = 9};
	char out[2048];

	render(&v, host, out, sizeof(out));
	cr_assert_str_eq(out, "Node 0 MemTotal:         524288 kB\n"
			      "Node 0 MemFree:          500000 kB\n"
			      "Node 0 MemUsed:           24288 kB\n"
			      "Node 0 SwapCached:            0 kB\n"
			      "Node 0 Active(anon):       1234 kB\n"
			      "Node 0 FilePages:             9 kB\n"
			      "Node 0 KernelStack:        4352 kB\n"
			      "Node 0 PageTables:       524288 kB\n"
			      "Node 0 HugePages_Total:     0\n"
			      "Node 0 HugePages_Free:      7\n");
}

Test(nodemem, wide_value_and_odd_lines)
{
	struct mem_view v = {.total = 123456789012ULL, .free = 1};
	char out[512];

	render(&v, "Node 1 MemTotal: 5 kB\nnonsense line\nNode 1 Foo: x kB\nNode 1 Bar:1 kB", out,
	       sizeof(out));
	cr_assert_str_eq(out, "Node 1 MemTotal: 123456789012 kB\n"
			      "nonsense line\n"
			      "Node 1 Foo: x kB\n"
			      "Node 1 Bar:1 kB\n");
}

Test(nodemem, short_buffer)
{
	struct mem_view v = {.total = 1};
	char out[8];
	struct buf b;

	buf_init(&b, out, sizeof(out));
	cr_assert_eq(nodememinfo_render(S(host), &v, &b), -ENOBUFS);
}

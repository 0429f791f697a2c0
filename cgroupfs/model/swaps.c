/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /proc/swaps from the machine's memory view; see memory.h. Pure, no allocation. */
#include <string.h>

#include "memory.h"

/* The header exactly as mm/swapfile.c swap_show() prints it. */
#define SWAPS_HEADER "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
/* One virtual device standing for the cgroup's swap allowance (lxcfs calls it "none"). */
#define SWAPS_DEVICE "none"

int swaps_render(const struct mem_view *v, struct buf *out)
{
	uint64_t used;
	size_t len = strlen(SWAPS_DEVICE);

	buf_puts(out, SWAPS_HEADER);
	if (v->swap_total == 0)
		return buf_result(out);
	used = sat_sub(v->swap_total, v->swap_free);

	/* swap_show(): the path, padded to 40 columns (at least one space), the type, then size
	 * and used in kB each followed by an extra tab while shorter than 8 digits, then the
	 * priority. A virtual device is neither file nor block: shown as a partition. */
	buf_puts(out, SWAPS_DEVICE);
	for (size_t i = 0; i < (len < 40 ? 40 - len : 1); i++)
		buf_putc(out, ' ');
	buf_puts(out, "partition\t");
	buf_put_u64(out, v->swap_total);
	buf_puts(out, v->swap_total < 10000000 ? "\t\t" : "\t");
	buf_put_u64(out, used);
	buf_puts(out, used < 10000000 ? "\t\t" : "\t");
	buf_puts(out, "-2\n");
	return buf_result(out);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgprocd --sampler=auto: the choice between the /proc walk and the eBPF counter (choose.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "choose.h"

enum choose_verdict choose_step(struct choose *c, bool on_bpf, uint64_t threads, uint64_t switches,
				struct choose_cost *cost)
{
	bool other_cheaper;

	cost->proc_us = (double)threads * CHOOSE_PROC_NS_PER_THREAD / 1000.0;
	cost->bpf_us = (double)switches * CHOOSE_BPF_NS_PER_SWITCH / 1000.0;
	if (c->since < UINT32_MAX)
		c->since++;
	other_cheaper = on_bpf ? cost->proc_us * CHOOSE_MARGIN < cost->bpf_us
			       : cost->bpf_us * CHOOSE_MARGIN < cost->proc_us;
	if (!other_cheaper) {
		c->agree = 0;
		return CHOOSE_KEEP;
	}
	c->agree++;
	if (c->changed && (c->agree < CHOOSE_AGREE || c->since < CHOOSE_DWELL))
		return CHOOSE_KEEP;
	return on_bpf ? CHOOSE_TO_PROC : CHOOSE_TO_BPF;
}

void choose_changed(struct choose *c)
{
	c->agree = 0;
	c->since = 0;
	c->changed = true;
}

int choose_parse_ctxt(const char *stat, uint64_t *ret)
{
	const char *p = stat;

	while (p && *p) {
		if (strncmp(p, "ctxt ", 5) == 0) {
			char *end;

			errno = 0;
			*ret = strtoull(p + 5, &end, 10);
			if (errno || end == p + 5 || (*end != '\n' && *end))
				return -EINVAL;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -EINVAL;
}

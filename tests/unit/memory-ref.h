/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reference parsers and renderer of memory-ref.c (see there). */
#pragma once

#include "model/memory.h"

int ref_memstat_parse(struct span text, bool v1, struct cg_memstat *ret);
int ref_host_memory_parse(struct span meminfo, struct host_memory *ret);
int ref_meminfo_render(struct span host_meminfo, const struct mem_view *v, struct buf *out);

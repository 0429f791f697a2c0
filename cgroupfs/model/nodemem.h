/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /sys/devices/system/node/nodeN/meminfo of a machine that lives on one NUMA node: the host
 * node's file with the machine's figures in place of the node's. Pure: no I/O.
 */
#pragma once

#include "buf.h"
#include "memory.h"
#include "parse.h"

/*
 * Lines "Node N Key:   value kB": MemTotal, MemFree, MemUsed (total - free), the LRU lists,
 * Unevictable, Dirty, Writeback, FilePages (page cache), Mapped, AnonPages, Shmem, Slab,
 * SReclaimable and KReclaimable, SUnreclaim, AnonHugePages come from @v; any other kB line is
 * the host node's, capped at MemTotal; lines without a kB unit (HugePages_*) are the host's. Each
 * value keeps the host line's field width, so columns stay aligned.
 */
int nodememinfo_render(struct span host, const struct mem_view *v, struct buf *out);

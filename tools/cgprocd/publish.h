/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The end of a pass (see sampler.h): the pass's entries sorted by key, the load averages stepped
 * from the previous table (a merge of two sorted lists), encoded and written to the table file
 * in one rename; and, at start-up, the averages resumed from a table a previous instance left.
 * Nothing here walks cgroups or reads their files.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "model/table.h"
#include "sampler.h"

/* The pass's entries: s->count entries of esize() bytes in s->body, each a cgtable_entry
 * followed by cpu_words words of cpuset. */
static inline size_t esize(const struct sampler *s)
{
	return cgtable_entry_size(s->cpu_words);
}

static inline struct cgtable_entry *entry_at(struct sampler *s, size_t i)
{
	return (struct cgtable_entry *)(s->body + i * esize(s));
}

static inline uint64_t *entry_cpus(struct sampler *s, size_t i)
{
	return (uint64_t *)(s->body + i * esize(s) + sizeof(struct cgtable_entry));
}

/* Clock @clk in nanoseconds. */
uint64_t sampler_clock_ns(clockid_t clk);
/* Sort, de-duplicate, step the averages (when @step) and write the table: 0 or -errno. */
int publish_table(struct sampler *s, bool step);
/* Resume the averages from a table a previous instance left, when it is at most 15 min old. */
void publish_resume(struct sampler *s);

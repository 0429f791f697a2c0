/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which sampler `cgprocd --sampler=auto` runs: the one that costs the host less, estimated at
 * every periodic pass from what the host does. The /proc walk costs about the same per thread
 * at every pass; the eBPF counter costs a little on every context switch and wakeup and almost
 * nothing per pass. A host with many threads that mostly sleep is cheaper to count with the
 * programs, a host that switches all the time with few threads cheaper to walk. Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * The estimates, measured on the development VM (tools/BENCHMARKS.md): the /proc walk 5.5-8.7 us
 * of CPU per thread per pass; the programs about 0.3 us per context switch with its wakeup
 * (tracepoint dispatch included: a pipe ping-pong's round trip of two switches rises by
 * 0.4-0.7 us). Both are kernel paths and scale together with the CPU, so their ratio, which is
 * what decides, carries over to other machines better than either figure.
 */
#define CHOOSE_PROC_NS_PER_THREAD 6000
#define CHOOSE_BPF_NS_PER_SWITCH 300
/* The other sampler must be estimated this many times cheaper ... */
#define CHOOSE_MARGIN 2
/* ... at this many periodic passes in a row (the first verdict after the start: one) ... */
#define CHOOSE_AGREE 3
/* ... and this many passes must have gone by since the last change. */
#define CHOOSE_DWELL 12

struct choose {
	unsigned agree; /* passes in a row that favoured the other sampler */
	unsigned since; /* passes since the start or the last change */
	bool changed;	/* a change was made: later verdicts need CHOOSE_AGREE passes */
};

enum choose_verdict {
	CHOOSE_KEEP,
	CHOOSE_TO_BPF,
	CHOOSE_TO_PROC,
};

/* The costs of one pass (microseconds of CPU) as the two samplers are estimated to charge it. */
struct choose_cost {
	double proc_us, bpf_us;
};

/*
 * One periodic pass: @on_bpf, which sampler counted it; @threads, the threads on the host;
 * @switches, context switches on the host since the previous periodic pass (/proc/stat ctxt).
 * The estimates go to @cost (for the log). The caller makes the change and calls
 * choose_changed(), or, when it could not, leaves things as they are.
 */
enum choose_verdict choose_step(struct choose *c, bool on_bpf, uint64_t threads, uint64_t switches,
				struct choose_cost *cost);
void choose_changed(struct choose *c);
/* Context switches since boot from the text of /proc/stat ("ctxt N"). 0 or -EINVAL. */
int choose_parse_ctxt(const char *stat, uint64_t *ret);

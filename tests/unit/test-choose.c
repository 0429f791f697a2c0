/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgprocd --sampler=auto's choice (tools/cgprocd/choose.c): the cheaper sampler by the estimates,
 * with a margin, agreement over passes and a dwell after each change; /proc/stat's ctxt line.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "../../tools/cgprocd/choose.h"

/* Threads and switches per pass at which each sampler costs @ratio times the other. */
#define THREADS 10000
static uint64_t switches_for(double bpf_over_proc)
{
	return (uint64_t)(bpf_over_proc * THREADS * CHOOSE_PROC_NS_PER_THREAD /
			  CHOOSE_BPF_NS_PER_SWITCH);
}

/* One pass at switches that make bpf cost @ratio times proc. */
static enum choose_verdict step(struct choose *c, bool on_bpf, double ratio)
{
	struct choose_cost cost;

	return choose_step(c, on_bpf, THREADS, switches_for(ratio), &cost);
}

/* @n passes at @ratio, none of which changes anything. */
static void keep_for(struct choose *c, bool on_bpf, double ratio, int n)
{
	for (int i = 0; i < n; i++)
		cr_assert_eq(step(c, on_bpf, ratio), CHOOSE_KEEP, "pass %d at %.2f", i, ratio);
}

Test(choose, first_verdict_takes_one_pass)
{
	struct choose c = {0};
	struct choose_cost cost;

	/* many sleeping threads, few switches: bpf costs a tenth */
	cr_assert_eq(choose_step(&c, false, THREADS, switches_for(0.1), &cost), CHOOSE_TO_BPF);
	cr_assert_float_eq(cost.proc_us, THREADS * CHOOSE_PROC_NS_PER_THREAD / 1000.0, 1e-6);
	cr_assert_float_eq(cost.bpf_us, cost.proc_us * 0.1, 1.0);
	/* and the other way round */
	c = (struct choose){0};
	cr_assert_eq(step(&c, true, 10), CHOOSE_TO_PROC);
}

Test(choose, margin_keeps_near_ties)
{
	struct choose c = {0};

	/* the other one estimated cheaper, but by less than the margin: no change, either way */
	keep_for(&c, false, 0.6, 50);
	keep_for(&c, true, 1.6, 50);
}

Test(choose, after_a_change_dwell_and_agreement)
{
	struct choose c = {0};

	cr_assert_eq(step(&c, false, 0.1), CHOOSE_TO_BPF);
	choose_changed(&c);
	/* now on bpf and the switches rise: not before CHOOSE_DWELL passes */
	keep_for(&c, true, 5, CHOOSE_DWELL - 1);
	cr_assert_eq(step(&c, true, 5), CHOOSE_TO_PROC);
	choose_changed(&c);
	/* agreement: a pass that favours staying starts the count again */
	keep_for(&c, false, 1, CHOOSE_DWELL);
	keep_for(&c, false, 0.1, CHOOSE_AGREE - 1);
	keep_for(&c, false, 1, 1);
	keep_for(&c, false, 0.1, CHOOSE_AGREE - 1);
	cr_assert_eq(step(&c, false, 0.1), CHOOSE_TO_BPF);
}

Test(choose, no_threads_no_switches_stays)
{
	struct choose c = {0};
	struct choose_cost cost;

	cr_assert_eq(choose_step(&c, false, 0, 0, &cost), CHOOSE_KEEP);
	cr_assert_eq(choose_step(&c, true, 0, 0, &cost), CHOOSE_KEEP);
}

Test(choose, parses_ctxt)
{
	uint64_t v = 0;

	cr_assert_eq(choose_parse_ctxt("cpu  1 2 3\nintr 5 0\nctxt 123456789\nbtime 1\n", &v), 0);
	cr_assert_eq(v, 123456789);
	cr_assert_eq(choose_parse_ctxt("ctxt 7", &v), 0);
	cr_assert_eq(v, 7);
	cr_assert_eq(choose_parse_ctxt("cpu 1\nctxtx 5\n", &v), -EINVAL);
	cr_assert_eq(choose_parse_ctxt("ctxt \n", &v), -EINVAL);
	cr_assert_eq(choose_parse_ctxt("ctxt 12a\n", &v), -EINVAL);
	cr_assert_eq(choose_parse_ctxt("", &v), -EINVAL);
}

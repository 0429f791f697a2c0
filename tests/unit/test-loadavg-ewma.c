/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The load-average EWMA as cgprocd runs it: loadavg_step() against a literal reference of the
 * kernel's calc_load() (kernel/sched/loadavg.c, active in fixed point), convergence and decay,
 * and cgprocd's interval scaling of the factors (exactly the kernel's constants at 5 s; the same
 * time constants at other intervals).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "model/misc.h"
#include "../../tools/cgprocd/sampler.h" /* sampler_exp */

/* The kernel formula, written out independently of the code under test. */
static unsigned long ref_calc_load(unsigned long load, unsigned long exp, unsigned long active)
{
	unsigned long newload;

	active *= 2048; /* the kernel passes active already shifted by FSHIFT */
	newload = load * exp + active * (2048 - exp);
	if (active >= load)
		newload += 2048 - 1;
	return newload / 2048;
}

Test(ewma, matches_kernel_formula_on_random_inputs)
{
	static const unsigned long exps[] = {1884, 2014, 2037};

	srandom(42);
	for (int i = 0; i < 200000; i++) {
		unsigned long load = (unsigned long)random() % (512 * 2048);
		unsigned long active = (unsigned long)random() % 600;
		unsigned long e = exps[i % 3];

		cr_assert_eq(loadavg_step(load, e, active), ref_calc_load(load, e, active),
			     "load %lu exp %lu active %lu", load, e, active);
	}
}

Test(ewma, constant_input_converges)
{
	static const uint64_t exps[] = {LOADAVG_EXP_1, LOADAVG_EXP_5, LOADAVG_EXP_15};

	for (int k = 0; k < 3; k++) {
		for (uint64_t n = 1; n <= 64; n *= 4) {
			uint64_t load = 0;

			for (int step = 0; step < 12 * 60 * 3; step++) /* 3 hours of 5 s steps */
				load = loadavg_step(load, exps[k], n);
			/* the kernel's rounding up while rising settles within a few 1/2048 of n */
			cr_assert(load <= n * LOADAVG_FIXED_1 && load + 64 >= n * LOADAVG_FIXED_1,
				  "exp %lu n %lu: %lu", (unsigned long)exps[k], (unsigned long)n,
				  (unsigned long)load);
		}
	}
}

Test(ewma, one_minute_shape)
{
	uint64_t load = 0;

	/* 2 busy threads for 60 s: 1 - 1/e of the way, i.e. 2 * 0.632 = 1.26 */
	for (int step = 0; step < 12; step++)
		load = loadavg_step(load, LOADAVG_EXP_1, 2);
	cr_assert(fabs((double)load / LOADAVG_FIXED_1 - 2 * (1 - exp(-1))) < 0.02, "%f",
		  (double)load / LOADAVG_FIXED_1);
}

Test(ewma, decays_to_zero)
{
	uint64_t load = 40 * LOADAVG_FIXED_1, prev;
	int steps = 0;

	do {
		prev = load;
		load = loadavg_step(load, LOADAVG_EXP_1, 0);
		cr_assert(load <= prev);
		steps++;
	} while (load && steps < 100000);
	cr_assert_eq(load, 0, "never reached 0");
}

Test(ewma, interval_factors)
{
	cr_assert_eq(sampler_exp(5000000000ULL, 1), LOADAVG_EXP_1);
	cr_assert_eq(sampler_exp(5000000000ULL, 5), LOADAVG_EXP_5);
	cr_assert_eq(sampler_exp(5000000000ULL, 15), LOADAVG_EXP_15);
	/* the formula itself lands on the kernel's constants at 5 s */
	cr_assert_eq(sampler_exp(5000000001ULL, 1), LOADAVG_EXP_1);
	cr_assert_eq(sampler_exp(5000000001ULL, 5), LOADAVG_EXP_5);
	cr_assert_eq(sampler_exp(5000000001ULL, 15), LOADAVG_EXP_15);
	/* 1 s steps: five of them decay like one 5 s step */
	for (unsigned m = 1; m <= 15; m += m == 1 ? 4 : 10) {
		double one = (double)sampler_exp(1000000000ULL, m) / 2048;
		double five = (double)sampler_exp(5000000000ULL, m) / 2048;

		cr_assert(fabs(pow(one, 5) - five) < 0.003, "m %u: %f vs %f", m, pow(one, 5), five);
	}
}

Test(ewma, one_second_interval_keeps_the_minute)
{
	uint64_t fast = 0, slow = 0;

	/* 60 s of 2 busy threads sampled every 1 s and every 5 s: same 1-minute average */
	for (int s = 0; s < 60; s++)
		fast = loadavg_step(fast, sampler_exp(1000000000ULL, 1), 2);
	for (int s = 0; s < 12; s++)
		slow = loadavg_step(slow, sampler_exp(5000000000ULL, 1), 2);
	cr_assert(fabs((double)fast - (double)slow) / LOADAVG_FIXED_1 < 0.05, "%f vs %f",
		  (double)fast / LOADAVG_FIXED_1, (double)slow / LOADAVG_FIXED_1);
}

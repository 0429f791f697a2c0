/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Until model/misc.c (branch model-mem) is merged: the kernel's calc_load() step, weak so that
 * the core's own definition wins as soon as it is linked. Remove after the merge.
 */
#include "model/misc.h"

__attribute__((weak)) uint64_t loadavg_step(uint64_t load, uint64_t exp, uint64_t active)
{
	unsigned __int128 act = (unsigned __int128)active * LOADAVG_FIXED_1, n;

	n = (unsigned __int128)load * exp + act * (LOADAVG_FIXED_1 - exp);
	if (act >= load)
		n += LOADAVG_FIXED_1 - 1;
	n /= LOADAVG_FIXED_1;
	return n > UINT64_MAX ? UINT64_MAX : (uint64_t)n;
}

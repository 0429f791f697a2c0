/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fault hooks of the test build (cgprocfs-faults, compiled with CGPROCFS_FAULTS; never
 * installed): see faults.h. The installed cgprocfs compiles none of this.
 */
#ifdef CGPROCFS_FAULTS
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "faults.h"

struct faults faults;

void faults_parse(void)
{
	const char *e = getenv("CGPROCFS_TEST_FAULT");

	clock_gettime(CLOCK_MONOTONIC, &faults.start);
	if (!e)
		return;
	faults.no_resend = strstr(e, "no-resend") != NULL;
	faults.ring_register = strstr(e, "ring-register") != NULL;
	if (strstr(e, "kill-render="))
		faults.kill_render_ms = strtol(strstr(e, "kill-render=") + 12, NULL, 10);
}

void faults_serving(void)
{
	clock_gettime(CLOCK_MONOTONIC, &faults.start);
	__atomic_store_n(&faults.serving, 1, __ATOMIC_RELEASE);
}

static void *fault_killer(void *arg)
{
	struct timespec now, ts = {0};

	clock_gettime(CLOCK_MONOTONIC, &now);
	ts.tv_nsec = now.tv_nsec % 300000; /* 0-300 us: somewhere in a rendering */
	nanosleep(&ts, NULL);
	raise(SIGKILL);
	return arg;
}

void fault_render(void)
{
	struct timespec now;
	pthread_t t;
	long ms;

	if (!faults.kill_render_ms || !__atomic_load_n(&faults.serving, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&faults.armed, __ATOMIC_RELAXED))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - faults.start.tv_sec) * 1000 +
	     (now.tv_nsec - faults.start.tv_nsec) / 1000000;
	if (ms < faults.kill_render_ms || __atomic_exchange_n(&faults.armed, 1, __ATOMIC_RELAXED))
		return;
	if (pthread_create(&t, NULL, fault_killer, NULL) == 0)
		pthread_detach(t);
}
#endif

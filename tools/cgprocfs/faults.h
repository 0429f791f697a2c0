/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <time.h>

#ifdef CGPROCFS_FAULTS
/*
 * Fault hooks of the test build (cgprocfs-faults, never installed; the installed cgprocfs has no
 * such code and reads no such variable). CGPROCFS_TEST_FAULT is a comma-separated list of
 *   kill-render=MS  once this worker has served MS ms (counted from the start of its loop, after
 *                   any replay: a slow start, as under TCG, still serves MS ms), the next open
 *                   or read starts a thread that SIGKILLs the process a few microseconds later,
 *                   while the library renders
 *   no-resend       behave as on a kernel without FUSE_NOTIFY_RESEND (replay of records)
 *   ring-register   io_uring queue 0 registers a too short buffer (the kernel refuses it)
 */
struct faults {
	long kill_render_ms;
	bool no_resend, ring_register;
	struct timespec start;
	int serving; /* atomic: the loop runs, start is set */
	int armed;   /* atomic: the kill is under way */
};

extern struct faults faults;

void faults_parse(void);
void faults_serving(void); /* the worker's loop starts */
void fault_render(void);
#define FAULT_NO_RESEND faults.no_resend
#define FAULT_RING_REGISTER faults.ring_register
#else
static inline void fault_render(void)
{
}
static inline void faults_parse(void)
{
}
static inline void faults_serving(void)
{
}
#define FAULT_NO_RESEND false
#define FAULT_RING_REGISTER false
#endif

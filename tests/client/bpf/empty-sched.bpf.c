/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The floor of the scheduler-overhead bench (bench-cgprocd.c): programs that do nothing, on the
 * two hot tracepoints cgprocd's counter uses (bpf/loadcount.bpf.c), so that the bench can tell
 * what attaching any program there costs from what the counter's work adds. No headers: nothing
 * here reads the kernel.
 */
#define SEC(name) __attribute__((section(name), used))

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tracepoint/sched_switch")
int empty_switch(void *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sched_wakeup")
int empty_wakeup(void *ctx)
{
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgprocd's eBPF sampler (bpf/loadcount.bpf.c keeps per-cgroup counts of the tasks the kernel's
 * load average counts, updated on scheduler events). This side loads and attaches the programs,
 * seeds the tasks that existed before, and reads the counts once per pass: one batched map read
 * per pass, whatever the number of threads. Built only with -Dbpf (HAVE_BPF); without it every
 * call fails with -EOPNOTSUPP and cgprocd uses the /proc walk.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bpfcount;

/*
 * Load the programs and, with @attach, attach them (the next pass seeds). @unified: key tasks by
 * their v2 cgroup (a pure v2 host) instead of the v1 hierarchy of the cpu controller. -errno
 * with a message in @err (a kernel without BTF or the program types, no CAP_BPF/CAP_SYS_ADMIN, a
 * verifier refusal, a build without BPF). Loading needs the capabilities; attaching a loaded
 * program does not, so a daemon that dropped them can still attach and detach.
 */
int bpfcount_open(struct bpfcount **ret, bool unified, bool attach, char *err, size_t errsize);
/* Attach with empty words and counts; the next pass seeds. 0 or -errno. */
int bpfcount_attach(struct bpfcount *b);
/* Detach: the scheduler runs without them; the counts are no longer kept. */
void bpfcount_detach(struct bpfcount *b);
/*
 * Seeding, the first pass after an attach (bpfcount_seeding() is true until
 * bpfcount_seed_done()): the threads that existed before the programs were attached and have had
 * no event since. The pass walks /proc once and hands over each thread with the inode of its cpu
 * cgroup and its /proc state letter; a thread an event already reached keeps that word.
 */
bool bpfcount_seeding(const struct bpfcount *b);
void bpfcount_seed(struct bpfcount *b, uint64_t cgid, uint32_t tid, char state);
/* End of seeding; @procfd: /proc, to drop the seeds of threads that exited meanwhile. */
void bpfcount_seed_done(struct bpfcount *b, int procfd);
/* Snapshot the counts map (start of a pass). 0 or -errno. */
int bpfcount_read(struct bpfcount *b);
/* Tasks directly in cgroup @cgid (the inode of its directory) in the last snapshot, not
 * including cgprocd's own thread: counted by the load average (runnable + uninterruptible),
 * runnable, all. */
struct bpfcount_val {
	uint64_t active, running, total;
};
void bpfcount_get(struct bpfcount *b, uint64_t cgid, struct bpfcount_val *ret);
/* Forget counts of cgroups that no pass looked up twice in a row while at 0 (removed ones). */
void bpfcount_prune(struct bpfcount *b);
void bpfcount_close(struct bpfcount *b);

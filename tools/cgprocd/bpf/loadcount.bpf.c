/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgprocd's in-kernel counter: per cgroup, the number of tasks that the kernel's load average
 * counts (kernel/sched/loadavg.c, calc_load_fold_active: nr_running + nr_uninterruptible, where a
 * blocked task is uninterruptible for the load when its state at the switch has
 * TASK_UNINTERRUPTIBLE and neither TASK_NOLOAD (TASK_IDLE kthreads) nor TASK_FROZEN; see
 * sched_contributes_to_load in kernel/sched/core.c). The same predicate as cgprocd's /proc walk,
 * which counts the threads /proc shows as R or D ("I", the idle D, is TASK_NOLOAD).
 *
 * Each task has one word in `tasks`, indexed by tid (loadcount.h: its cgroup id, runnable,
 * counted). Every event that can change a task's state or cgroup recomputes the word and
 * exchanges it atomically; the difference between the old and the new word is applied to the
 * cgroup's counts in `slots` (counted, runnable and all tasks), so concurrent events on one task
 * linearise on the exchange and the counts telescope to the last word written.
 * `slots` is an open-addressing table in a mapped array, not a BPF hash: the hot path finds a
 * cgroup's counts with one inlined array access in the usual case (a hash map look-up is a
 * call, ~35 ns per event on a nested VM, a third of the event's cost). A cgroup claims an empty
 * slot with a compare-and-swap the first time one of its tasks changes; user space frees the
 * slots of removed cgroups. A cgroup that finds no slot within LC_PROBES is counted in
 * `overflow` and its events change neither word nor count; user space then stops trusting the
 * counts (bpfcount.c).
 * A pass in user space then reads `slots` (one entry per cgroup) instead of every thread.
 *
 * Events: sched_switch (the task that leaves: blocked, preempted or dead), sched_wakeup and
 * sched_wakeup_new (it becomes runnable), cgroup_attach_task (it moved, with its threads) and
 * cgroup_transfer_tasks (it moved).
 * Tasks that existed before the programs were attached and have had no event since are seeded by
 * user space (bpfcount.c), which only fills empty words (compare-and-swap on the mapped array): an
 * event that got there first wins.
 * (The kernel's task iterator would do it here, but on some kernels it skips threads.)
 *
 * Only raw tracepoints: no fentry/tp_btf (they need BPF trampolines, which not every kernel build
 * has), no kprobes (not every kernel build has kprobe events). Arguments are read with CO-RE
 * against the kernel's BTF.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "loadcount.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader: key tasks by their unified (v2) cgroup, or by the cgroup of the v1
 * hierarchy that carries the cpu controller (hybrid and v1 hosts). */
const volatile bool key_unified = false;

#define TASK_RUNNING_ 0x0000
#define TASK_UNINTERRUPTIBLE_ 0x0002
#define TASK_DEAD_ 0x0080
#define TASK_NOLOAD_ 0x0400
#define TASK_FROZEN_ 0x8000

/*
 * Words by tid: an array, not a hash (an inlined look-up, ~15 ns against ~50 ns for a hash on
 * the hot path of every switch and wakeup), 8 bytes per possible tid. 0: no word. User space
 * maps it to seed words with a compare-and-swap.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 65536); /* the loader sets max(pid_max, 65536) */
	__type(key, __u32);	    /* tid */
	__type(value, __u64);	    /* loadcount.h: cgroup id, LC_RUNNABLE, LC_COUNTED */
} tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1 << 16); /* the loader sets 1 << slot_bits */
	__type(key, __u32);
	__type(value, struct lc_slot);
} slots SEC(".maps");

const volatile __u32 slot_bits = 16;
/* events of cgroups that found no slot: the counts are incomplete from the first one on */
__u64 overflow = 0;

/*
 * Per CPU: the task the last switch seen on it put on the CPU (an address, only compared and read
 * through bpf_probe_read_kernel). A switch whose prev is another task means the switch that took
 * that one off was never delivered to the tracepoint: seen on a 6.18 guest kernel for the threads
 * of its PID 1, which perf's sched:sched_switch misses too; each would stay counted as runnable.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} oncpu SEC(".maps");

/* Kernels before 5.14 called the state field "state". */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

static __always_inline unsigned int task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return (unsigned int)BPF_CORE_READ((struct task_struct___old *)t, state);
}

static __always_inline bool state_counts(unsigned int st)
{
	if (st == TASK_RUNNING_)
		return true;
	return (st & TASK_UNINTERRUPTIBLE_) && !(st & (TASK_NOLOAD_ | TASK_FROZEN_));
}

/*
 * The cgroup id of css_set @cset, or of task @t's, in the keyed hierarchy, one pointer step at a
 * time through READ(p,
 * field): BPF_CORE_READ for any task (each step a bpf_probe_read_kernel call, ~25 ns on a
 * nested VM), DIRECT for the current task's BTF pointer (plain loads that the verifier makes
 * fault-safe, ~1 ns each).
 */
#define DIRECT(p, field) ((p)->field)
#define CSET_CGID(cset, READ)                                                                      \
	({                                                                                         \
		struct css_set *cset_ = (cset);                                                    \
		struct cgroup_subsys_state *css_ = NULL;                                           \
		struct cgroup *cg_ = NULL;                                                         \
		struct kernfs_node *kn_ = NULL;                                                    \
		int id_ = bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id);                 \
		if (cset_ && key_unified)                                                          \
			cg_ = READ(cset_, dfl_cgrp);                                               \
		else if (cset_ && id_ >= 0 && id_ < 16)                                            \
			css_ = READ(cset_, subsys[id_]);                                           \
		if (css_)                                                                          \
			cg_ = READ(css_, cgroup);                                                  \
		if (cg_)                                                                           \
			kn_ = READ(cg_, kn);                                                       \
		kn_ ? (__u64)READ(kn_, id) : 0;                                                    \
	})
#define CGID_OF(t, READ) CSET_CGID(READ(t, cgroups), READ)

static __always_inline __u64 task_cgid(struct task_struct *t)
{
	return CGID_OF(t, BPF_CORE_READ);
}

/*
 * The counts of cgroup @cgid: its slot, or an empty one it claims, among LC_PROBES from its hash.
 * NULL when all are taken by other cgroups (or @cgid is 0).
 */
static __always_inline struct lc_slot *slot_of(__u64 cgid)
{
	__u32 h = (__u32)((cgid * LC_HASH_MUL) >> (64 - slot_bits)), mask = (1u << slot_bits) - 1;

	if (!cgid)
		return NULL;
	for (__u32 i = 0; i < LC_PROBES; i++) {
		__u32 k = (h + i) & mask;
		struct lc_slot *s = bpf_map_lookup_elem(&slots, &k);
		__u64 c;

		if (!s)
			break;
		c = *(volatile __u64 *)&s->cgid;
		if (c == cgid)
			return s;
		if (!c) {
			c = __sync_val_compare_and_swap(&s->cgid, 0, cgid);
			if (!c || c == cgid)
				return s;
		}
	}
	__sync_fetch_and_add(&overflow, 1);
	return NULL;
}

static __always_inline void slot_add(struct lc_slot *s, __s64 da, __s64 dr, __s64 dt)
{
	if (da)
		__sync_fetch_and_add(&s->active, da);
	if (dr)
		__sync_fetch_and_add(&s->running, dr);
	if (dt)
		__sync_fetch_and_add(&s->total, dt);
}

#define W_COUNTED(w) ((__s64)(((w)&LC_COUNTED) != 0))
#define W_RUNNABLE(w) ((__s64)(((w)&LC_RUNNABLE) != 0))

/*
 * Move a task's contribution from word @old to word @new (0: none); @sn: the slot of @new's
 * cgroup, already found (NULL: @new is 0).
 */
static __always_inline void word_apply(__u64 old, __u64 new, struct lc_slot *sn)
{
	struct lc_slot *so;

	if (old == new)
		return;
	if (old && sn && old >> LC_SHIFT == new >> LC_SHIFT) { /* the usual case: a state change */
		slot_add(sn, W_COUNTED(new) - W_COUNTED(old), W_RUNNABLE(new) - W_RUNNABLE(old), 0);
		return;
	}
	if (old && (so = slot_of(old >> LC_SHIFT)))
		slot_add(so, -W_COUNTED(old), -W_RUNNABLE(old), -1);
	if (sn)
		slot_add(sn, W_COUNTED(new), W_RUNNABLE(new), 1);
}

/*
 * Make task @tid's word say @runnable / @counted in cgroup @cgid. @cgid 0: keep the cgroup its
 * word already has (wakeups: a move always comes with an event that looks it up), or, when it
 * has none, look it up through @t's css_set.
 */
static __always_inline void task_set(struct task_struct *t, __u32 tid, __u64 cgid, bool runnable,
				     bool counted)
{
	__u64 word, *w, bits;
	struct lc_slot *s;

	if (!tid)
		return; /* the idle tasks */
	bits = (runnable ? LC_RUNNABLE : 0) | (counted ? LC_COUNTED : 0);
	w = bpf_map_lookup_elem(&tasks, &tid);
	if (!w)
		return; /* a tid beyond the array: pid_max was raised after the start */
	if (!cgid)
		cgid = *w >> LC_SHIFT;
	if (!cgid)
		cgid = task_cgid(t);
	if (!cgid)
		return;
	word = cgid << LC_SHIFT | bits;
	if (*w == word)
		return; /* nothing changed (a preempted task already counted): no count touched */
	s = slot_of(cgid);
	if (!s)
		return; /* the word stays as it was: words and counts still agree */
	word_apply(__sync_lock_test_and_set(w, word), word, s);
}

/* From the task's own state word and cgroup (moves). */
static __always_inline void task_update(struct task_struct *t)
{
	unsigned int st = task_state(t);

	task_set(t, BPF_CORE_READ(t, pid), task_cgid(t), st == TASK_RUNNING_, state_counts(st));
}

/* The task is gone: uncount it and forget its word. */
static __always_inline void task_gone(__u32 tid)
{
	__u64 *w = bpf_map_lookup_elem(&tasks, &tid);

	if (!w || !*w)
		return;
	word_apply(__sync_lock_test_and_set(w, 0), 0, NULL);
}

/*
 * Remember @next as the task on this CPU; when @prev is not the one remembered, that one left the
 * CPU unseen: its word follows its state word now (blocked: no longer runnable). A task that is
 * runnable, or dead (its memory may be another task's by now), is left to its next event.
 */
static __always_inline void missed_out(__u64 prev, __u64 next)
{
	__u32 zero = 0;
	__u64 *last = bpf_map_lookup_elem(&oncpu, &zero), gone;
	struct task_struct *t;
	unsigned int st;

	if (!last)
		return;
	gone = *last;
	*last = next;
	if (!gone || gone == prev)
		return;
	t = (struct task_struct *)gone;
	st = task_state(t);
	if (st != TASK_RUNNING_ && !(st & TASK_DEAD_))
		task_set(t, BPF_CORE_READ(t, pid), 0, false, state_counts(st));
}

/*
 * sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, ...), the
 * hottest event: it runs in prev's context (the switch has not happened yet), so prev is the
 * current task. Where the kernel has bpf_get_current_task_btf (5.11), its state and cgroup are
 * plain loads and its tid needs no read: one array access, plus the counts' slot when prev
 * blocks. The cgroup is looked up on every switch because a move fires cgroup_attach_task for
 * the thread group's leader only: the other threads are re-keyed here, at their next switch.
 */
SEC("raw_tracepoint/sched_switch")
int on_switch(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct task_struct *prev;
	unsigned int st;
	__u64 cgid;

	/* before the idle task's own switches are left out: on a quiet CPU the switches seen are
	 * often only the idle task's, and a task that left unseen would otherwise wait for the
	 * next busy one */
	missed_out(ctx->args[1], ctx->args[2]);
	if (!tid)
		return 0;
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)) {
		prev = bpf_get_current_task_btf();
		if (bpf_core_field_exists(prev->__state))
			st = prev->__state;
		else
			st = (unsigned int)((struct task_struct___old *)prev)->state;
		cgid = CGID_OF(prev, DIRECT);
	} else {
		prev = (struct task_struct *)ctx->args[1];
		st = task_state(prev);
		cgid = task_cgid(prev);
	}
	if (st & TASK_DEAD_) {
		task_gone(tid);
		return 0;
	}
	if (!cgid)
		return 0;
	/* a preempted task stays on the run queue whatever its state word says */
	if (ctx->args[0] || st == TASK_RUNNING_)
		task_set(prev, tid, cgid, true, true);
	else
		task_set(prev, tid, cgid, false, state_counts(st));
	return 0;
}

/*
 * sched_wakeup(struct task_struct *p), sched_wakeup_new(struct task_struct *p): the kernel fires
 * them right after it set the task's state to TASK_RUNNING (ttwu_do_wakeup, wake_up_new_task),
 * so the state word is not read: the task is runnable.
 */
SEC("raw_tracepoint/sched_wakeup")
int on_wakeup(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t = (struct task_struct *)ctx->args[0];

	task_set(t, BPF_CORE_READ(t, pid), 0, true, true);
	return 0;
}

/*
 * The same where the kernel has bpf_rdonly_cast (6.2): the tid is a plain load through a typed
 * pointer, which the verifier makes fault-safe, instead of a bpf_probe_read_kernel call (~20 ns
 * of the event's ~60 on a nested VM). The loader keeps one of the two (bpfcount.c): a call to an
 * absent kfunc fails the load even where it is never reached.
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

SEC("raw_tracepoint/sched_wakeup")
int on_wakeup_cast(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t =
		bpf_rdonly_cast((void *)ctx->args[0], bpf_core_type_id_kernel(struct task_struct));

	if (!t)
		return 0;
	task_set(t, t->pid, 0, true, true);
	return 0;
}

SEC("raw_tracepoint/sched_wakeup_new")
int on_wakeup_new(struct bpf_raw_tracepoint_args *ctx)
{
	/* a new task: a word under its tid can only be a dead task's */
	struct task_struct *t = (struct task_struct *)ctx->args[0];

	task_set(t, BPF_CORE_READ(t, pid), task_cgid(t), true, true);
	return 0;
}

/* Move @tid's word to cgroup @cgid with its bits (compare-and-swap: a switch may change them
 * meanwhile). */
static __always_inline void word_move(__u32 tid, __u64 cgid)
{
	__u64 *w = bpf_map_lookup_elem(&tasks, &tid), old, new;
	struct lc_slot *s = slot_of(cgid);

	if (!w || !s)
		return;
	for (int i = 0; i < 4; i++) {
		old = *w;
		if (!old || old >> LC_SHIFT == cgid)
			return;
		new = cgid << LC_SHIFT | (old & (LC_RUNNABLE | LC_COUNTED));
		if (__sync_val_compare_and_swap(w, old, new) == old) {
			word_apply(old, new, s);
			return;
		}
	}
}

struct group_walk {
	__u64 head; /* &leader->signal->thread_head */
	__u64 node; /* the thread_node of the thread to visit next */
	__u64 cgid;
};

/* One thread of a moved process (bpf_loop callback): 1 to stop at the end of the list. */
static long group_step(__u64 i, void *arg)
{
	struct group_walk *g = arg;
	struct task_struct *t;

	if (!g->node || g->node == g->head)
		return 1;
	t = (struct task_struct *)(g->node -
				   bpf_core_field_offset(struct task_struct, thread_node));
	word_move(BPF_CORE_READ(t, pid), g->cgid);
	g->node = (__u64)BPF_CORE_READ(t, thread_node.next);
	return 0;
}

/*
 * cgroup_attach_task(struct cgroup *dst, const char *path, struct task_struct *task, bool tg):
 * fired after the task's css_set was switched, in whichever hierarchy it moved. With tg (a write
 * to cgroup.procs) the kernel moved every thread but reports the leader only: the other threads
 * follow it here, through the thread group's list (bpf_loop, kernel 5.17 and later; before it,
 * at their next switch).
 */
SEC("raw_tracepoint/cgroup_attach_task")
int on_attach(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *leader = (struct task_struct *)ctx->args[2];
	struct signal_struct *sig;
	struct group_walk g;

	task_update(leader);
	if (!ctx->args[3] || !bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_loop))
		return 0;
	sig = BPF_CORE_READ(leader, signal);
	if (!sig)
		return 0;
	g.head = (__u64)sig + bpf_core_field_offset(struct signal_struct, thread_head);
	g.node = (__u64)BPF_CORE_READ(sig, thread_head.next);
	g.cgid = task_cgid(leader);
	bpf_loop(65536, group_step, &g, 0);
	return 0;
}

SEC("raw_tracepoint/cgroup_transfer_tasks")
int on_transfer(struct bpf_raw_tracepoint_args *ctx)
{
	task_update((struct task_struct *)ctx->args[2]);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * FUSE-over-io_uring for cgprocfs, on top of libfuse 3.14 (which predates it), with raw io_uring
 * syscalls (no liburing needed).
 *
 * What the kernel expects (learned from Documentation/filesystems/fuse/fuse-io-uring.rst,
 * include/uapi/linux/fuse.h 7.42 and fs/fuse/dev_uring.c of 6.14+, and libfuse 3.17's
 * lib/fuse_uring.c; nothing copied):
 *  - The kernel offers FUSE_OVER_IO_URING (flags2 bit 9, i.e. bit 41 of the 64-bit flags, needs
 *    FUSE_INIT_EXT) in FUSE_INIT only while the fuse module's enable_uring is set; the daemon
 *    accepts it in the INIT reply. From then on new requests WAIT until every queue (one per
 *    possible CPU, qid = CPU number) has at least one registered entry, or until a REGISTER
 *    fails (that clears the connection's io_uring flag and the kernel goes back to /dev/fuse).
 *    So once the reply asked for the ring, every queue must register, or fail a REGISTER.
 *  - REGISTER needs fc->initialized (else -EAGAIN): it is sent after the INIT reply was written.
 *  - A ring is an io_uring with 128-byte SQEs; each entry is an IORING_OP_URING_CMD on the
 *    /dev/fuse fd with cmd_op REGISTER (addr: 2 iovecs, header buffer >= 288 bytes and payload
 *    buffer >= max(8 KiB, max_write, max_pages * page size)) or COMMIT_AND_FETCH (commit_id),
 *    and struct fuse_uring_cmd_req {flags, commit_id, qid} in the SQE's command area.
 *  - A request completes the entry's command: the header buffer holds fuse_in_header (in_out),
 *    the first in-argument (the per-op header, op_in: LOOKUP's is empty) and ent_in_out
 *    (commit_id, payload_sz); the other in-arguments are in the payload buffer. in.len is the
 *    /dev/fuse length (header + all arguments), so op header size = len - 40 - payload_sz.
 *  - The reply goes back in the same buffers: fuse_out_header in in_out, all out-arguments in
 *    the payload, ent_in_out.payload_sz, then COMMIT_AND_FETCH, which also waits for the next.
 *  - Requests are put on the queue of the CPU the caller runs on; FORGET, INTERRUPT and
 *    notifications keep using /dev/fuse. Unmount/abort completes the commands with -ENOTCONN.
 *
 * Here each queue thread, pinned to its CPU, rebuilds a /dev/fuse-style request in front of the
 * payload (the payload buffer has a private page before it) and hands it to
 * fuse_session_process_buf(); the handler replies synchronously through the session's custom
 * writev, which finds the thread's current entry and fills it instead of writing /dev/fuse.
 * A request the handler did not answer gets -EIO, never a hang.
 *
 * Lifetime: ring_prepare() (before seccomp) starts the pinned threads, each of which makes its
 * own io_uring and eventfd and then waits. The INIT reply either asks for the ring (buffers are
 * allocated for the negotiated sizes, the threads register their entries and serve) or not (the
 * threads close their rings and exit). ring_free() wakes running threads through the eventfd
 * each keeps a poll on; unmount or abort ends them with -ENOTCONN.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ring-int.h"
#include "ring.h"
#include "serve.h"
#include "uring.h"

static void ring_set_state(struct ring *r, enum ring_state s)
{
	pthread_mutex_lock(&r->lock);
	r->state = s;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* Number of possible CPUs (the kernel makes one queue per possible CPU). */
static int cpus_possible(void)
{
	char buf[256];
	int fd = open("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int count = 0;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	for (char *p = buf; *p && *p != '\n';) {
		char *end;
		long a = strtol(p, &end, 10), b = a;

		if (end == p)
			return -EINVAL;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p || b < a)
				return -EINVAL;
		}
		count += (int)(b - a + 1);
		p = *end == ',' ? end + 1 : end;
	}
	return count > 0 ? count : -EINVAL;
}

static bool module_uring_enabled(void)
{
	char c = 0;
	int fd = open("/sys/module/fuse/parameters/enable_uring", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y' || c == '1';
}

bool ring_offered(void)
{
	return module_uring_enabled();
}

int ring_prepare(struct fuse_session *se, bool debug, bool quiet, bool fault_register,
		 struct ring **ret_ring)
{
	struct ring *r;
	int n, err;

	if (!module_uring_enabled())
		return -EOPNOTSUPP;
	n = cpus_possible();
	if (n < 0)
		return n;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->q = calloc((size_t)n, sizeof(*r->q));
	if (!r->q) {
		free(r);
		return -ENOMEM;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->se = se;
	r->fuse_fd = fuse_session_fd(se);
	r->debug = debug;
	r->quiet = quiet;
	r->nq = (unsigned)n;
	r->state = RING_WAIT;
	/* only the queue's thread submits and waits: completions run in its io_uring_enter()
	 * (measured here: ~0.5 us less per round trip than the default task-work signalling;
	 * COOP_TASKRUN was worse) */
	r->setup_flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	r->fault_register = fault_register;
	for (unsigned i = 0; i < r->nq; i++) {
		r->q[i].u.fd = -1;
		r->q[i].efd = -1;
	}
	for (unsigned i = 0; i < r->nq; i++) {
		struct queue *q = &r->q[i];
		pthread_attr_t attr;
		cpu_set_t cpus;

		q->r = r;
		q->qid = i;
		for (unsigned k = 0; k < RING_DEPTH; k++)
			q->ent[k].q = q;
		pthread_attr_init(&attr);
		CPU_ZERO(&cpus);
		CPU_SET(i, &cpus);
		pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
		err = -pthread_create(&q->tid, &attr, queue_thread, q);
		if (err == -EINVAL) /* CPU possible but not online: serve unpinned */
			err = -pthread_create(&q->tid, NULL, queue_thread, q);
		pthread_attr_destroy(&attr);
		if (err < 0)
			goto fail;
		q->thread = true;
	}
	pthread_mutex_lock(&r->lock);
	while (r->prepared < r->nq)
		pthread_cond_wait(&r->cond, &r->lock);
	err = r->setup_err;
	pthread_mutex_unlock(&r->lock);
	if (err < 0)
		goto fail;
	*ret_ring = r;
	return 0;
fail:
	ring_free(r);
	return err;
}

/* At the INIT reply: allocate the entries' buffers for the negotiated sizes. */
static int ring_alloc(struct ring *r, const struct fuse_init_out *init)
{
	size_t pages = init->flags & FUSE_MAX_PAGES ? init->max_pages : 32;
	size_t payload = 8192;

	if (init->max_write > payload)
		payload = init->max_write;
	if (pages * PAGE > payload)
		payload = pages * PAGE;
	payload = (payload + PAGE - 1) & ~(size_t)(PAGE - 1);
	r->payload_max = payload;
	for (unsigned i = 0; i < r->nq; i++) {
		for (unsigned k = 0; k < RING_DEPTH; k++) {
			struct ent *e = &r->q[i].ent[k];

			e->map_len = PAGE + PREFIX + payload;
			e->map = mmap(NULL, e->map_len, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (e->map == MAP_FAILED) {
				e->map = NULL;
				return -ENOMEM;
			}
			e->hdr = (struct cg_uring_req_header *)e->map;
			e->payload = e->map + PAGE + PREFIX;
			e->iov[0] = (struct iovec){e->hdr, PAGE};
			e->iov[1] = (struct iovec){e->payload, payload};
		}
	}
	return 0;
}

ssize_t ring_read(struct ring *r, int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);
	const struct fuse_in_header *in = buf;
	const size_t flags2_end = offsetof(struct fuse_init_in, flags2) + sizeof(uint32_t);

	/* INIT's argument grew over the years: flags2 exists when FUSE_INIT_EXT is set */
	if (r && n >= (ssize_t)(sizeof(*in) + offsetof(struct fuse_init_in, flags2)) &&
	    in->opcode == FUSE_INIT) {
		const struct fuse_init_in *arg = (const void *)(in + 1);

		r->init_unique = in->unique;
		r->offered = n >= (ssize_t)(sizeof(*in) + flags2_end) &&
			     (arg->flags & FUSE_INIT_EXT) && (arg->flags2 & CG_FUSE_OVER_IO_URING2);
		r->init_pending = true;
	}
	return n;
}

/* The INIT reply: ask for the ring when the kernel offered it and the buffers exist. */
static ssize_t ring_init_reply(struct ring *r, int fd, struct iovec *iov, int count)
{
	const struct fuse_out_header *out = iov[0].iov_base;
	struct fuse_init_out init;
	struct iovec patched[8];
	const char *why = NULL;
	ssize_t n;

	if (out->error != 0 || count < 2 || count > 8 || iov[1].iov_len != sizeof(init))
		why = "unexpected INIT reply";
	else if (!r->offered)
		why = "the kernel did not offer it";
	if (!why) {
		memcpy(&init, iov[1].iov_base, sizeof(init));
		if (ring_alloc(r, &init) < 0)
			why = "out of memory";
	}
	if (why) {
		int saved;

		n = writev(fd, iov, count);
		saved = errno; /* libfuse reads it when n < 0 */
		ring_set_state(r, RING_STOP);
		if (!r->quiet)
			fprintf(stderr,
				"cgprocfs: io_uring not used (%s): serving through /dev/fuse\n",
				why);
		errno = saved;
		return n;
	}
	init.flags |= FUSE_INIT_EXT;
	init.flags2 |= CG_FUSE_OVER_IO_URING2;
	memcpy(patched, iov, (size_t)count * sizeof(*iov));
	patched[1].iov_base = &init;
	n = writev(fd, patched, count);
	if (n < 0) {
		int saved = errno;

		ring_set_state(r, RING_STOP);
		errno = saved;
		return n;
	}
	r->active = true;
	ring_set_state(r, RING_RUN);
	if (!r->quiet)
		fprintf(stderr, "cgprocfs: serving through io_uring (%u queues)\n", r->nq);
	return n;
}

ssize_t ring_writev(struct ring *r, int fd, struct iovec *iov, int count)
{
	const struct fuse_out_header *out;

	if (!r || count < 1 || iov[0].iov_len < sizeof(*out))
		return writev(fd, iov, count);
	out = iov[0].iov_base;
	{
		ssize_t n;

		if (queue_reply(out->unique, iov, count, &n))
			return n;
	}
	if (r->init_pending && out->unique == r->init_unique) {
		r->init_pending = false;
		return ring_init_reply(r, fd, iov, count);
	}
	return writev(fd, iov, count);
}

uint64_t ring_served(const struct ring *r)
{
	uint64_t sum = 0;

	for (unsigned i = 0; r && i < r->nq; i++)
		sum += __atomic_load_n(&r->q[i].served, __ATOMIC_RELAXED);
	return sum;
}

bool ring_active(const struct ring *r)
{
	return r && r->active;
}

void ring_free(struct ring *r)
{
	enum ring_state was;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	was = r->state;
	if (was == RING_WAIT)
		r->state = RING_STOP;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	for (unsigned i = 0; i < r->nq; i++) {
		struct queue *q = &r->q[i];
		uint64_t one = 1;

		if (!q->thread)
			continue;
		/* a running queue waits in io_uring_enter: its eventfd poll wakes it (a stopped
		 * one has closed its eventfd itself and is leaving) */
		if (was == RING_RUN && write(q->efd, &one, sizeof(one)) < 0)
			fprintf(stderr, "cgprocfs: ring q%u: cannot wake: %m\n", q->qid);
		pthread_join(q->tid, NULL);
	}
	for (unsigned i = 0; i < r->nq; i++)
		queue_release(&r->q[i]);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r->q);
	free(r);
}

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

#include "ring.h"
#include "serve.h"
#include "uring.h"

/* From include/uapi/linux/fuse.h 7.42 (Debian 12's headers are 7.38). */
#define CG_FUSE_OVER_IO_URING2 (1u << (41 - 32)) /* in flags2 */
#define CG_URING_CMD_REGISTER 1
#define CG_URING_CMD_COMMIT_AND_FETCH 2

struct cg_uring_ent_in_out {
	uint64_t flags;
	uint64_t commit_id;
	uint32_t payload_sz;
	uint32_t padding;
	uint64_t reserved;
};

struct cg_uring_req_header {
	char in_out[128]; /* fuse_in_header, then fuse_out_header */
	char op_in[128];  /* the per-op header (first in-argument) */
	struct cg_uring_ent_in_out ent;
};

struct cg_uring_cmd_req {
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid;
	uint8_t padding[6];
};

_Static_assert(sizeof(struct cg_uring_req_header) == 288, "fuse_uring_req_header layout");
_Static_assert(sizeof(struct cg_uring_cmd_req) == 24, "fuse_uring_cmd_req layout");
_Static_assert(sizeof(struct cg_uring_cmd_req) <= 80, "the SQE128 command area is 80 bytes");

#define RING_DEPTH 4 /* entries per queue */
#define EVENT_TAG UINT64_MAX
#define PAGE 4096
#define PREFIX PAGE /* room for the rebuilt in header + op header before the payload */

struct ent {
	struct queue *q;
	struct cg_uring_req_header *hdr;
	char *map;
	size_t map_len;
	char *payload;
	struct iovec iov[2];
	uint64_t unique;
	bool replied;
	bool registered; /* the kernel has handed it a request */
	bool committing; /* its last command is a COMMIT_AND_FETCH */
	unsigned reregistered;
	bool dead;
};

struct queue {
	struct ring *r;
	unsigned qid;
	pthread_t tid;
	bool thread;
	struct uring u;
	int efd;
	struct ent ent[RING_DEPTH];
	uint64_t served; /* atomic */
};

enum ring_state {
	RING_WAIT,
	RING_RUN,
	RING_STOP
};

struct ring {
	struct fuse_session *se;
	int fuse_fd;
	bool debug, quiet;
	unsigned nq;
	struct queue *q;
	size_t payload_max;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum ring_state state;
	unsigned setup_flags; /* IORING_SETUP_* besides SQE128 */
	unsigned prepared;    /* queue threads done with their setup */
	int setup_err;	      /* the first one's error */
	bool fault_register;  /* test build: queue 0 registers a too short payload buffer */
	/* INIT bookkeeping: set by the reader that saw FUSE_INIT, used by its reply */
	bool init_pending;
	uint64_t init_unique;
	bool offered;
	bool active;
};

static __thread struct ent *cur_ent; /* the ring entry this thread is serving */

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

static void sqe_cmd(struct io_uring_sqe *sqe, int fuse_fd, unsigned op, uint64_t tag, uint16_t qid,
		    uint64_t commit_id)
{
	struct cg_uring_cmd_req *req = (void *)((char *)sqe + URING_SQE_CMD_OFFSET);

	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fuse_fd;
	sqe->cmd_op = op;
	sqe->user_data = tag;
	req->qid = qid;
	req->commit_id = commit_id;
}

static int ent_register(struct queue *q, unsigned i)
{
	struct io_uring_sqe *sqe = uring_sqe_get(&q->u);

	if (!sqe)
		return -EBUSY;
	sqe_cmd(sqe, q->r->fuse_fd, CG_URING_CMD_REGISTER, i, (uint16_t)q->qid, 0);
	sqe->addr = (uint64_t)(uintptr_t)q->ent[i].iov;
	sqe->len = 2;
	q->ent[i].committing = false;
	if (q->r->fault_register && q->qid == 0)
		q->ent[i].iov[1].iov_len = 4096; /* the kernel refuses it: -EINVAL */
	return 0;
}

static int ent_commit(struct queue *q, unsigned i, uint64_t commit_id)
{
	struct io_uring_sqe *sqe = uring_sqe_get(&q->u);

	if (!sqe)
		return -EBUSY;
	sqe_cmd(sqe, q->r->fuse_fd, CG_URING_CMD_COMMIT_AND_FETCH, i, (uint16_t)q->qid, commit_id);
	q->ent[i].committing = true;
	return 0;
}

static void ent_reply_error(struct ent *e, int err)
{
	struct fuse_out_header out = {.len = sizeof(out), .error = -err, .unique = e->unique};

	memcpy(e->hdr->in_out, &out, sizeof(out));
	e->hdr->ent.payload_sz = 0;
	e->replied = true;
}

/* One request from entry @i: rebuild it as /dev/fuse would deliver it, serve it, commit. */
static void ent_serve(struct queue *q, unsigned i)
{
	struct ent *e = &q->ent[i];
	struct fuse_in_header in;
	uint64_t commit_id = e->hdr->ent.commit_id;
	uint32_t payload_sz = e->hdr->ent.payload_sz;
	size_t op_sz;
	char *start;

	memcpy(&in, e->hdr->in_out, sizeof(in));
	e->unique = in.unique;
	e->replied = false;
	if (in.len < sizeof(in) + (size_t)payload_sz || payload_sz > q->r->payload_max ||
	    in.len - sizeof(in) - payload_sz > sizeof(e->hdr->op_in)) {
		fprintf(stderr,
			"cgprocfs: ring q%u: malformed request (opcode %u len %u payload %u)\n",
			q->qid, in.opcode, in.len, payload_sz);
		ent_reply_error(e, EIO);
	} else {
		struct fuse_buf buf = {0};

		op_sz = in.len - sizeof(in) - payload_sz;
		start = e->payload - op_sz - sizeof(in);
		memcpy(start, &in, sizeof(in));
		memcpy(start + sizeof(in), e->hdr->op_in, op_sz);
		buf.mem = start;
		buf.size = in.len;
		if (q->r->debug)
			fprintf(stderr, "cgprocfs: ring q%u: unique %llu opcode %u\n", q->qid,
				(unsigned long long)in.unique, in.opcode);
		cur_ent = e;
		fuse_session_process_buf(q->r->se, &buf);
		cur_ent = NULL;
		if (!e->replied) /* handlers always reply; never leave the caller waiting */
			ent_reply_error(e, EIO);
	}
	__atomic_fetch_add(&q->served, 1, __ATOMIC_RELAXED);
	if (ent_commit(q, i, commit_id) < 0) {
		fprintf(stderr, "cgprocfs: ring q%u: no SQE for a commit\n", q->qid);
		e->dead = true;
	}
}

/* The reply of the request this thread serves from a ring entry: into the entry. */
static ssize_t ent_fill(struct ent *e, const struct iovec *iov, int count)
{
	size_t total = 0, hdr_done = 0, pay = 0;
	const size_t oh = sizeof(struct fuse_out_header);

	for (int k = 0; k < count; k++)
		total += iov[k].iov_len;
	if (total < oh || total - oh > e->q->r->payload_max) {
		ent_reply_error(e, total < oh ? EIO : ERANGE);
		return (ssize_t)total;
	}
	for (int k = 0; k < count; k++) {
		const char *p = iov[k].iov_base;
		size_t len = iov[k].iov_len;

		if (hdr_done < oh) {
			size_t n = len < oh - hdr_done ? len : oh - hdr_done;

			memcpy(e->hdr->in_out + hdr_done, p, n);
			hdr_done += n;
			p += n;
			len -= n;
		}
		if (len) {
			memmove(e->payload + pay, p, len);
			pay += len;
		}
	}
	e->hdr->ent.payload_sz = (uint32_t)pay;
	e->replied = true;
	return (ssize_t)total;
}

static void queue_release(struct queue *q)
{
	for (unsigned i = 0; i < RING_DEPTH; i++) {
		if (q->ent[i].map)
			munmap(q->ent[i].map, q->ent[i].map_len);
		q->ent[i].map = NULL;
	}
	uring_close(&q->u);
	if (q->efd >= 0)
		close(q->efd);
	q->efd = -1;
}

static void *queue_thread(void *arg)
{
	struct queue *q = arg;
	struct ring *r = q->r;
	sigset_t all;
	unsigned live = RING_DEPTH;
	enum ring_state s;
	int err;
	struct io_uring_sqe *sqe;

	/* signals are for the /dev/fuse loop and the reload thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/* the ring is made by the thread that will submit to it (IORING_SETUP_SINGLE_ISSUER) */
	err = uring_open(&q->u, 2 * (RING_DEPTH + 1), r->setup_flags);
	if (err == -EINVAL) /* kernels before 6.1 (not FUSE-over-io_uring ones, but cheap) */
		err = uring_open(&q->u, 2 * (RING_DEPTH + 1), 0);
	if (err == 0) {
		q->efd = eventfd(0, EFD_CLOEXEC);
		if (q->efd < 0)
			err = -errno;
	}
	pthread_mutex_lock(&r->lock);
	r->prepared++;
	if (err < 0 && r->setup_err == 0)
		r->setup_err = err;
	pthread_cond_broadcast(&r->cond);
	while (r->state == RING_WAIT)
		pthread_cond_wait(&r->cond, &r->lock);
	s = r->state;
	pthread_mutex_unlock(&r->lock);
	if (s != RING_RUN) {
		queue_release(q); /* no io_uring left behind when the ring is not used */
		return NULL;
	}

	for (unsigned i = 0; i < RING_DEPTH; i++)
		ent_register(q, i);
	sqe = uring_sqe_get(&q->u);
	if (sqe) {
		sqe->opcode = IORING_OP_POLL_ADD;
		sqe->fd = q->efd;
		sqe->poll32_events = POLLIN;
		sqe->user_data = EVENT_TAG;
	}
	for (;;) {
		unsigned head, tail;
		err = uring_submit_wait(&q->u);

		if (err < 0 && err != -EINTR && err != -EAGAIN && err != -EBUSY) {
			fprintf(stderr, "cgprocfs: ring q%u: io_uring_enter: %s\n", q->qid,
				strerror(-err));
			return NULL;
		}
		head = *q->u.cq_head;
		tail = uring_cq_tail(&q->u);
		for (; head != tail; head++) {
			struct io_uring_cqe *cqe = &q->u.cqes[head & q->u.cq_mask];
			uint64_t tag = cqe->user_data;
			int res = cqe->res;

			if (tag == EVENT_TAG)
				return NULL; /* ring_free(): stop */
			if (tag >= RING_DEPTH)
				continue;
			if (res == 0) {
				q->ent[tag].registered = true;
				ent_serve(q, (unsigned)tag);
				continue;
			}
			if (res == -EAGAIN || res == -EINTR) {
				/* REGISTER before the INIT reply was processed: again */
				struct timespec ts = {0, 1000000};

				nanosleep(&ts, NULL);
				ent_register(q, (unsigned)tag);
				continue;
			}
			if (res == -ENOTCONN || res == -ECONNABORTED || res == -ECANCELED)
				return NULL; /* unmounted or aborted */
			/* a refused commit (the kernel no longer knows the request, e.g. -ENOENT)
			 * leaves the kernel's entry behind in "userspace": register the buffers
			 * again as a new entry, so that the queue keeps its depth */
			if (q->ent[tag].committing && q->ent[tag].reregistered < 16) {
				fprintf(stderr,
					"cgprocfs: ring q%u entry %u: commit refused (%s), "
					"registering it again\n",
					q->qid, (unsigned)tag, strerror(-res));
				q->ent[tag].reregistered++;
				ent_register(q, (unsigned)tag);
				continue;
			}
			/* a refused REGISTER turns the connection's ring off: the kernel is back on
			 * /dev/fuse */
			if (r->debug || q->ent[tag].registered)
				fprintf(stderr, "cgprocfs: ring q%u entry %u: %s\n", q->qid,
					(unsigned)tag, strerror(-res));
			q->ent[tag].dead = true;
			if (--live == 0) {
				fprintf(stderr,
					"cgprocfs: io_uring queue %u refused (%s): serving through "
					"/dev/fuse\n",
					q->qid, strerror(-res));
				return NULL;
			}
		}
		uring_cq_advance(&q->u, head);
	}
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
	if (cur_ent && out->unique == cur_ent->unique && !cur_ent->replied)
		return ent_fill(cur_ent, iov, count);
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

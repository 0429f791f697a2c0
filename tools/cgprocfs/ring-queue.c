/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One FUSE-over-io_uring queue (see ring.c for what the kernel expects): its thread, pinned to
 * the queue's CPU, registers the queue's entries, turns each completed entry into a
 * /dev/fuse-style request for fuse_session_process_buf(), and sends the reply the handler wrote
 * (through queue_reply()) back with COMMIT_AND_FETCH.
 *
 * Must not: answer a request it did not fill (an unanswered one gets -EIO, never a hang), or
 * touch another queue's entries.
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

static __thread struct ent *cur_ent; /* the ring entry this thread is serving */

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

void queue_release(struct queue *q)
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

void *queue_thread(void *arg)
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

bool queue_reply(uint64_t unique, const struct iovec *iov, int count, ssize_t *ret)
{
	if (!cur_ent || unique != cur_ent->unique || cur_ent->replied)
		return false;
	*ret = ent_fill(cur_ent, iov, count);
	return true;
}

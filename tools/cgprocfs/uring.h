/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A minimal io_uring on raw system calls (no liburing: Debian 12's 2.3 adds nothing needed
 * here), for the FUSE-over-io_uring queues of cgprocfs (ring.c): one submitter thread per ring,
 * 128-byte SQEs. Must not: be shared by threads without a lock (it has none).
 */
#pragma once

#include <linux/io_uring.h>
#include <stddef.h>

#define URING_SQE_SIZE 128	/* IORING_SETUP_SQE128 */
#define URING_SQE_CMD_OFFSET 48 /* the command area of a 128-byte SQE (80 bytes) */

struct uring {
	int fd;
	void *sq_map, *cq_map, *sqes;
	size_t sq_len, cq_len, sqes_len;
	unsigned *sq_head, *sq_tail, *sq_array, sq_mask, sq_entries, sq_local;
	unsigned *cq_head, *cq_tail, cq_mask;
	struct io_uring_cqe *cqes;
};

/* A ring of @entries SQEs with IORING_SETUP_SQE128 | @flags, mapped. 0 or -errno. */
int uring_open(struct uring *u, unsigned entries, unsigned flags);
/* Unmap and close; @u is then closed (fd -1), closing again is fine. */
void uring_close(struct uring *u);
/* A zeroed SQE to fill (queued for the next submit), or NULL when the SQ is full. */
struct io_uring_sqe *uring_sqe_get(struct uring *u);
/* Submit what is queued and wait for at least one completion. 0 or -errno. */
int uring_submit_wait(struct uring *u);

/* Completions: for (head = *u->cq_head; head != uring_cq_tail(u); head++) use
 * u->cqes[head & u->cq_mask], then uring_cq_advance(u, head). */
static inline unsigned uring_cq_tail(const struct uring *u)
{
	return __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE);
}

static inline void uring_cq_advance(struct uring *u, unsigned head)
{
	__atomic_store_n(u->cq_head, head, __ATOMIC_RELEASE);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A minimal io_uring on raw system calls: setup and mapping (the three mmaps of
 * io_uring_setup(2), one when IORING_FEAT_SINGLE_MMAP), SQE allocation with the SQ index array,
 * submit-and-wait. Memory ordering as io_uring(7) asks: the SQ tail is published with release
 * semantics, the CQ tail read with acquire, the CQ head stored with release.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uring.h"

void uring_close(struct uring *u)
{
	if (u->sqes)
		munmap(u->sqes, u->sqes_len);
	if (u->cq_map && u->cq_map != u->sq_map)
		munmap(u->cq_map, u->cq_len);
	if (u->sq_map)
		munmap(u->sq_map, u->sq_len);
	if (u->fd >= 0)
		close(u->fd);
	memset(u, 0, sizeof(*u));
	u->fd = -1;
}

int uring_open(struct uring *u, unsigned entries, unsigned flags)
{
	struct io_uring_params p = {.flags = IORING_SETUP_SQE128 | flags};
	int r;

	u->fd = (int)syscall(__NR_io_uring_setup, entries, &p);
	if (u->fd < 0) {
		u->fd = -1;
		return -errno;
	}
	u->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	u->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (u->cq_len > u->sq_len)
			u->sq_len = u->cq_len;
		u->cq_len = u->sq_len;
	}
	u->sq_map = mmap(NULL, u->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
			 IORING_OFF_SQ_RING);
	if (u->sq_map == MAP_FAILED) {
		u->sq_map = NULL;
		goto fail;
	}
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		u->cq_map = u->sq_map;
	} else {
		u->cq_map = mmap(NULL, u->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
				 u->fd, IORING_OFF_CQ_RING);
		if (u->cq_map == MAP_FAILED) {
			u->cq_map = NULL;
			goto fail;
		}
	}
	u->sqes_len = (size_t)p.sq_entries * URING_SQE_SIZE;
	u->sqes = mmap(NULL, u->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
		       IORING_OFF_SQES);
	if (u->sqes == MAP_FAILED) {
		u->sqes = NULL;
		goto fail;
	}
	u->sq_head = (unsigned *)((char *)u->sq_map + p.sq_off.head);
	u->sq_tail = (unsigned *)((char *)u->sq_map + p.sq_off.tail);
	u->sq_array = (unsigned *)((char *)u->sq_map + p.sq_off.array);
	u->sq_mask = *(unsigned *)((char *)u->sq_map + p.sq_off.ring_mask);
	u->sq_entries = p.sq_entries;
	u->sq_local = *u->sq_tail;
	u->cq_head = (unsigned *)((char *)u->cq_map + p.cq_off.head);
	u->cq_tail = (unsigned *)((char *)u->cq_map + p.cq_off.tail);
	u->cq_mask = *(unsigned *)((char *)u->cq_map + p.cq_off.ring_mask);
	u->cqes = (struct io_uring_cqe *)((char *)u->cq_map + p.cq_off.cqes);
	return 0;
fail:
	r = -errno;
	uring_close(u);
	return r;
}

struct io_uring_sqe *uring_sqe_get(struct uring *u)
{
	unsigned head = __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE);
	unsigned idx;
	struct io_uring_sqe *sqe;

	if (u->sq_local - head >= u->sq_entries) {
		/* cannot happen with one SQE per entry between two waits, but a lost commit
		 * would leave a caller waiting: hand the queued ones over and look again */
		__atomic_store_n(u->sq_tail, u->sq_local, __ATOMIC_RELEASE);
		syscall(__NR_io_uring_enter, u->fd, u->sq_local - head, 0, 0, NULL, 0);
		head = __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE);
		if (u->sq_local - head >= u->sq_entries)
			return NULL;
	}
	idx = u->sq_local & u->sq_mask;
	sqe = (struct io_uring_sqe *)((char *)u->sqes + (size_t)idx * URING_SQE_SIZE);
	memset(sqe, 0, URING_SQE_SIZE);
	u->sq_array[idx] = idx;
	u->sq_local++;
	return sqe;
}

/* Publish the prepared SQEs, submit them and wait for at least one completion. */
int uring_submit_wait(struct uring *u)
{
	unsigned pending;
	long n;

	__atomic_store_n(u->sq_tail, u->sq_local, __ATOMIC_RELEASE);
	pending = u->sq_local - __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE);
	n = syscall(__NR_io_uring_enter, u->fd, pending, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	if (n < 0)
		return -errno;
	return 0;
}

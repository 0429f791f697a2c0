/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state shared by ring.c (set-up, INIT, teardown) and ring-queue.c (the queue threads).
 */
#pragma once

#include <linux/fuse.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

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

/* The thread of queue @arg (a struct queue): set-up, then serving until the ring stops. */
void *queue_thread(void *arg);
/* Close a queue's io_uring, eventfd and buffers (its thread has ended). */
void queue_release(struct queue *q);
/* A reply written by the handler this thread runs: true when it belongs to the entry the
 * thread serves (then filled into it, *ret the length taken). */
bool queue_reply(uint64_t unique, const struct iovec *iov, int count, ssize_t *ret);

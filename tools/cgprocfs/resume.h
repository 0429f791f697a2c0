/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A FUSE connection that outlives the worker serving it: the /dev/fuse fd and a small state
 * memfd (the INIT request the kernel sent, the worker generation, requests in flight where the
 * kernel cannot resend them) are kept by the service manager or the supervisor; a new worker
 * brings libfuse to the initialised state without a second INIT reply and has the requests the
 * dead one had read served again. See resume.c.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "serve.h"

struct resume;

/*
 * Take the fds handed over at start (LISTEN_FDS). Returns 1 with *ret_fuse_fd set when there is
 * a connection to resume, 0 when this worker must mount (then call resume_keep()), -errno.
 * @mask_resend (test builds only): behave as on a kernel without FUSE_NOTIFY_RESEND.
 */
int resume_new(bool mask_resend, struct resume **ret, int *ret_fuse_fd);

/* A fresh mount: make the state memfd and give both fds to the service manager to keep. */
int resume_keep(struct resume *rs, int fuse_fd);

/* A resumed connection, before any request is read: bring @se to the kernel's INIT state (the
 * saved INIT is processed, its reply not sent), then have the requests the dead worker had read
 * answered (FUSE_NOTIFY_RESEND, or a replay of the requests it recorded). */
int resume_connection(struct resume *rs, struct fuse_session *se);

/* The session's custom I/O calls these on every request read and every reply written. */
void resume_on_read(struct resume *rs, const void *buf, ssize_t n);
/* True when the reply must not reach the kernel (the replayed INIT's): *ret is its result. */
bool resume_on_reply(struct resume *rs, struct iovec *iov, int count, ssize_t *ret);
/* After a reply was written: its request's record is cleared. */
void resume_replied(struct resume *rs, const struct iovec *iov, int count);

/* Whether requests must be recorded (the kernel cannot resend them): then read them with
 * resume_read(), which has the kernel copy each one into this thread's slot of the state memfd
 * before it reaches @buf. */
bool resume_records(const struct resume *rs);
ssize_t resume_read(struct resume *rs, int fd, void *buf, size_t len);

/* Around the serving library's open: the fh it replies with carries this worker's generation. */
void resume_open_begin(struct resume *rs);
void resume_open_end(struct resume *rs);

enum resume_fh {
	RESUME_FH_READ,	   /* a stale fh gets a new handle */
	RESUME_FH_RELEASE, /* a stale fh's handle is handed back for freeing */
	RESUME_FH_PEEK,	   /* a stale fh's handle if it has one */
};

/*
 * The library's handle for the fh the kernel sent (0 for none). A handle made by a dead worker
 * is never touched: it is replaced by a new, unrendered handle of the same file, kept until its
 * release. 0 for a stale fh without one (@how PEEK or RELEASE), or when out of memory.
 */
uint64_t resume_fh(struct resume *rs, uint64_t fh, uint64_t ino, enum resume_fh how);

/* Whether the kernel resends requests itself (FUSE_HAS_RESEND); for the log. */
bool resume_has_resend(const struct resume *rs);
/* Requests the dead worker had read, answered from its records (no resend). */
unsigned resume_replayed(const struct resume *rs);

void resume_free(struct resume *rs);

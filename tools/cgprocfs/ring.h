/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * FUSE-over-io_uring transport for cgprocfs (kernel 6.14+, fuse module parameter
 * enable_uring=Y): one queue per possible CPU, served by a thread pinned to that CPU, so a
 * request is answered on the CPU of the process that made it. libfuse 3.14 knows nothing about
 * it: the host installs ring_read()/ring_writev() as the session's custom I/O, which asks for
 * the ring in the INIT reply and routes the replies of ring requests into their ring entries.
 * Everything else (INIT, FORGET, INTERRUPT, requests sent before the ring is ready) keeps
 * flowing through /dev/fuse and the classic loop.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct fuse_session;
struct ring;

/* Whether the kernel may offer the ring to a new mount (the fuse module's enable_uring). */
bool ring_offered(void);

/*
 * Before confinement: check that the kernel may offer the ring, create one io_uring and one
 * pinned, waiting thread per possible CPU. Returns -EOPNOTSUPP when enable_uring is off, another
 * -errno when a setup step failed (the caller serves through /dev/fuse only). @quiet: no info.
 * @fault_register (test builds only): queue 0 registers a buffer the kernel refuses, after the
 * INIT reply asked for the ring (the kernel then goes back to /dev/fuse: no request may hang).
 */
int ring_prepare(struct fuse_session *se, bool debug, bool quiet, bool fault_register,
		 struct ring **ret_ring);

/* fuse_custom_io hooks (@r may be NULL: plain read/writev of @fd). */
ssize_t ring_read(struct ring *r, int fd, void *buf, size_t len);
ssize_t ring_writev(struct ring *r, int fd, struct iovec *iov, int count);

/* Requests served through the ring so far (all queues). */
uint64_t ring_served(const struct ring *r);
/* True once the INIT reply asked for the ring and the queues were started. */
bool ring_active(const struct ring *r);

/* Stop and join the queue threads, close the rings, free. NULL is fine. */
void ring_free(struct ring *r);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Resuming a FUSE connection in a new worker process (kernel and libfuse facts, checked here on
 * Linux 6.18 and libfuse 3.14; nothing copied):
 *  - The connection lives as long as one process holds its /dev/fuse file (fs/fuse/dev.c: the
 *    last release aborts it). The service manager or the supervisor holds a duplicate, so a
 *    worker's death leaves the mount and every bind mount of it connected; requests wait in the
 *    kernel's pending queue for the next reader.
 *  - libfuse 3.14 answers every request with EIO until it has processed FUSE_INIT, and the kernel
 *    sends INIT once. The INIT request is saved here when the first worker reads it; a new worker
 *    feeds the saved request to fuse_session_process_buf() and drops the reply it produces
 *    (resume_on_reply), so libfuse negotiates the same parameters (same binary, same options)
 *    without a second INIT reply reaching the kernel. The fd is given to the session with
 *    fuse_session_custom_io(), never mounted again.
 *  - Requests the dead worker had read and not answered sit in the connection's processing
 *    queue. Linux 6.9 and later advertise FUSE_HAS_RESEND (INIT flags2 bit 7) and accept the
 *    FUSE_NOTIFY_RESEND notification (code 7, no payload), which moves them back to the pending
 *    queue with bit 63 of their unique set (fuse_resend()); they are read again like new ones.
 *    Without it the kernel would leave their readers waiting for ever (request_wait_answer(): a
 *    request already read by the daemon is waited for uninterruptibly), so the worker records
 *    each request it reads in the state memfd until it has answered it, and a new worker replays
 *    those records: the reply carries the unique the kernel is waiting for. A record that the
 *    dead worker had answered after all draws ENOENT from the kernel, which is harmless.
 *  - An fh handed out by a dead worker names memory of that process. Every fh carries the
 *    worker generation in its top 16 bits (user space pointers on x86-64 and arm64 with 4-level
 *    page tables fit in 48); one of another generation is never dereferenced: the file gets a new
 *    handle that renders at its next read.
 *
 * Must not: cost anything on the request path but a few compares where the kernel resends, or
 * touch the state of a connection this worker did not get from the service manager.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fdstore.h"
#include "resume.h"
#include "tree.h" /* the inode numbers of files */

/* From include/uapi/linux/fuse.h 7.40 (Debian 12's headers are 7.38). */
#define CG_FUSE_HAS_RESEND2 (1u << (39 - 32)) /* in flags2 */
#define CG_FUSE_NOTIFY_RESEND 7

#define STATE_MAGIC 0x31657461747366ULL /* "fstate1" */
#define INIT_MAX 256
#define REPLAY_SLOTS 64
#define REPLAY_MAX 512
#define FH_TAG_SHIFT 48
#define FH_PTR_MASK ((1ULL << FH_TAG_SHIFT) - 1)

/* A request read and not answered yet (kernels without resend only). */
struct replay_slot {
	uint32_t busy; /* claimed by a reader thread */
	uint32_t len;
	uint64_t unique; /* 0: free; written last */
	char buf[REPLAY_MAX];
};

/* The state memfd, shared by every worker of one connection. */
struct resume_state {
	uint64_t magic;
	uint32_t init_len;  /* the INIT request was read */
	uint32_t init_done; /* its reply reached the kernel */
	uint32_t generation;
	uint32_t pad;
	char init[INIT_MAX];
	struct replay_slot slot[REPLAY_SLOTS];
};

struct adopted {
	struct adopted *next;
	uint64_t fh; /* as the kernel knows it */
	struct cgprocfs_file *f;
};

struct resume {
	int fuse_fd, state_fd;
	struct resume_state *st;
	bool mask_resend;
	bool record; /* the kernel cannot resend: record requests in flight */
	uint64_t tag;
	uint64_t init_unique;
	bool swallow;	   /* the replayed INIT's reply is dropped */
	unsigned replayed; /* requests of the dead worker answered from its records */
	pthread_mutex_t lock;
	struct adopted *adopted;
};

static __thread int tl_slot = -1; /* this thread's recorded request */
static __thread bool tl_open;	  /* this thread serves an OPEN */

static int state_map(struct resume *rs)
{
	void *p = mmap(NULL, sizeof(struct resume_state), PROT_READ | PROT_WRITE, MAP_SHARED,
		       rs->state_fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	rs->st = p;
	return 0;
}

/* The kernel's flags2 of the saved INIT request. */
static bool init_has_resend(const struct resume_state *st)
{
	const struct fuse_init_in *arg = (const void *)(st->init + sizeof(struct fuse_in_header));

	if (st->init_len < sizeof(struct fuse_in_header) + sizeof(*arg))
		return false;
	return (arg->flags & FUSE_INIT_EXT) && (arg->flags2 & CG_FUSE_HAS_RESEND2);
}

static void generation_next(struct resume *rs)
{
	uint32_t g = (rs->st->generation + 1) & 0xffff;

	rs->st->generation = g ? g : 1;
	rs->tag = (uint64_t)rs->st->generation << FH_TAG_SHIFT;
}

int resume_new(bool mask_resend, struct resume **ret, int *ret_fuse_fd)
{
	struct fdstore_fd fds[4];
	struct resume *rs = calloc(1, sizeof(*rs));
	int n, r;

	if (!rs)
		return -ENOMEM;
	rs->fuse_fd = rs->state_fd = -1;
	rs->mask_resend = mask_resend;
	pthread_mutex_init(&rs->lock, NULL);
	*ret = rs;
	n = fdstore_listen(fds, 4);
	for (int i = 0; i < n; i++) {
		if (strcmp(fds[i].name, FDSTORE_NAME_FUSE) == 0 && rs->fuse_fd < 0)
			rs->fuse_fd = fds[i].fd;
		else if (strcmp(fds[i].name, FDSTORE_NAME_STATE) == 0 && rs->state_fd < 0)
			rs->state_fd = fds[i].fd;
		else
			close(fds[i].fd);
	}
	if (rs->fuse_fd < 0 || rs->state_fd < 0) {
		/* half a connection is none: mount anew */
		if (rs->fuse_fd >= 0)
			close(rs->fuse_fd);
		if (rs->state_fd >= 0)
			close(rs->state_fd);
		rs->fuse_fd = rs->state_fd = -1;
		return 0;
	}
	r = state_map(rs);
	if (r < 0)
		return r;
	if (rs->st->magic != STATE_MAGIC)
		return -EPROTO;
	generation_next(rs);
	*ret_fuse_fd = rs->fuse_fd;
	return 1;
}

int resume_keep(struct resume *rs, int fuse_fd)
{
	int r;

	rs->state_fd = memfd_create("cgprocfs-state", MFD_CLOEXEC);
	if (rs->state_fd < 0)
		return -errno;
	if (ftruncate(rs->state_fd, sizeof(struct resume_state)) < 0)
		return -errno;
	r = state_map(rs);
	if (r < 0)
		return r;
	rs->st->magic = STATE_MAGIC;
	generation_next(rs);
	rs->fuse_fd = fuse_fd;
	/* the state first: a fuse fd kept without it would be a connection nobody can resume */
	r = fdstore_push(rs->state_fd, FDSTORE_NAME_STATE);
	if (r == 0)
		r = fdstore_push(fuse_fd, FDSTORE_NAME_FUSE);
	return r;
}

static void notify_resend(struct resume *rs)
{
	struct fuse_out_header out = {.len = sizeof(out), .error = CG_FUSE_NOTIFY_RESEND};

	if (write(rs->fuse_fd, &out, sizeof(out)) != sizeof(out))
		fprintf(stderr, "cgprocfs: FUSE_NOTIFY_RESEND refused: %m\n");
}

static unsigned replay(struct resume *rs, struct fuse_session *se)
{
	unsigned n = 0;

	for (int i = 0; i < REPLAY_SLOTS; i++) {
		struct replay_slot *s = &rs->st->slot[i];
		char buf[REPLAY_MAX];
		struct fuse_buf fb = {.mem = buf};

		if (!s->unique || s->len > REPLAY_MAX || s->len < sizeof(struct fuse_in_header)) {
			s->unique = 0;
			s->busy = 0;
			continue;
		}
		memcpy(buf, s->buf, s->len);
		fb.size = s->len;
		s->unique = 0;
		s->busy = 0;
		fuse_session_process_buf(se, &fb);
		n++;
	}
	return n;
}

int resume_connection(struct resume *rs, struct fuse_session *se)
{
	char buf[INIT_MAX];
	struct fuse_buf fb = {.mem = buf};
	struct resume_state *st = rs->st;

	if (st->init_len == 0) {
		/* the dead worker never read INIT: the kernel still has it pending */
		return 0;
	}
	if (st->init_len > INIT_MAX)
		return -EPROTO;
	memcpy(buf, st->init, st->init_len);
	fb.size = st->init_len;
	rs->init_unique = ((const struct fuse_in_header *)buf)->unique;
	/* INIT read but never answered: this reply is the one the kernel waits for */
	rs->swallow = st->init_done != 0;
	fuse_session_process_buf(se, &fb);
	rs->swallow = false;
	st->init_done = 1;
	rs->record = rs->mask_resend || !init_has_resend(st);
	if (!rs->record)
		notify_resend(rs);
	else
		rs->replayed = replay(rs, se);
	return 0;
}

void resume_on_read(struct resume *rs, const void *buf, ssize_t n)
{
	const struct fuse_in_header *in = buf;

	if (!rs || n < (ssize_t)sizeof(*in))
		return;
	if (rs->st->init_len == 0 && in->opcode == FUSE_INIT && n <= INIT_MAX) {
		memcpy(rs->st->init, buf, (size_t)n);
		rs->init_unique = in->unique;
		rs->st->init_len = (uint32_t)n;
		rs->record = rs->mask_resend || !init_has_resend(rs->st);
		return;
	}
	/* requests without a reply are not waited for */
	if (!rs->record || in->opcode == FUSE_FORGET || in->opcode == FUSE_BATCH_FORGET ||
	    in->opcode == FUSE_INTERRUPT || n > REPLAY_MAX)
		return;
	for (int i = 0; i < REPLAY_SLOTS; i++) {
		struct replay_slot *s = &rs->st->slot[i];
		uint32_t free_slot = 0;

		if (!__atomic_compare_exchange_n(&s->busy, &free_slot, 1, false, __ATOMIC_ACQUIRE,
						 __ATOMIC_RELAXED))
			continue;
		memcpy(s->buf, buf, (size_t)n);
		s->len = (uint32_t)n;
		__atomic_store_n(&s->unique, in->unique, __ATOMIC_RELEASE);
		tl_slot = i;
		return;
	}
	/* more requests in flight than slots: this one is not replayed if the worker dies now */
}

bool resume_on_reply(struct resume *rs, struct iovec *iov, int count, ssize_t *ret)
{
	struct fuse_out_header *out;

	if (!rs || count < 1 || iov[0].iov_len < sizeof(*out))
		return false;
	out = iov[0].iov_base;
	if (tl_slot >= 0) {
		struct replay_slot *s = &rs->st->slot[tl_slot];

		if (s->unique == out->unique) {
			__atomic_store_n(&s->unique, 0, __ATOMIC_RELEASE);
			__atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
			tl_slot = -1;
		}
	}
	if (tl_open && out->error == 0 && count >= 2 &&
	    iov[1].iov_len >= sizeof(struct fuse_open_out)) {
		struct fuse_open_out *o = iov[1].iov_base;

		o->fh |= rs->tag;
	}
	if (out->unique != rs->init_unique)
		return false;
	if (rs->swallow) {
		ssize_t total = 0;

		for (int i = 0; i < count; i++)
			total += (ssize_t)iov[i].iov_len;
		*ret = total;
		return true;
	}
	if (rs->st->init_done)
		return false;
	/* the first worker's INIT reply: from now on a new worker replays it silently */
	*ret = writev(rs->fuse_fd, iov, count);
	if (*ret > 0)
		rs->st->init_done = 1;
	return true;
}

void resume_open_begin(struct resume *rs)
{
	tl_open = rs != NULL;
}

void resume_open_end(struct resume *rs)
{
	tl_open = false;
}

uint64_t resume_fh(struct resume *rs, uint64_t fh, uint64_t ino, enum resume_fh how)
{
	struct adopted **pp, *a;
	uint64_t ret = 0;

	if (!rs || fh == 0)
		return fh;
	if ((fh & ~FH_PTR_MASK) == rs->tag)
		return fh & FH_PTR_MASK;
	pthread_mutex_lock(&rs->lock);
	for (pp = &rs->adopted; *pp && (*pp)->fh != fh; pp = &(*pp)->next)
		;
	a = *pp;
	if (a && how == RESUME_FH_RELEASE)
		*pp = a->next;
	if (a)
		ret = (uint64_t)(uintptr_t)a->f;
	else if (how == RESUME_FH_READ && ino >= FILE_INO_BASE && ino < DIR_INO_FLAG) {
		/* not rendered and not fresh: the library renders at this read, whatever the offset
		 */
		a = calloc(1, sizeof(*a));
		if (a)
			a->f = calloc(1, sizeof(*a->f));
		if (a && a->f) {
			pthread_mutex_init(&a->f->lock, NULL);
			a->f->vfile_id = (unsigned)(ino - FILE_INO_BASE);
			a->fh = fh;
			a->next = rs->adopted;
			rs->adopted = a;
			ret = (uint64_t)(uintptr_t)a->f;
			a = NULL;
		} else if (a) {
			free(a);
			a = NULL;
		}
	}
	pthread_mutex_unlock(&rs->lock);
	if (how == RESUME_FH_RELEASE)
		free(a);
	return ret;
}

bool resume_has_resend(const struct resume *rs)
{
	return rs && !rs->record;
}

unsigned resume_replayed(const struct resume *rs)
{
	return rs ? rs->replayed : 0;
}

void resume_free(struct resume *rs)
{
	if (!rs)
		return;
	while (rs->adopted) {
		struct adopted *a = rs->adopted;

		rs->adopted = a->next;
		free(a->f->data);
		pthread_mutex_destroy(&a->f->lock);
		free(a->f);
		free(a);
	}
	if (rs->st)
		munmap(rs->st, sizeof(*rs->st));
	if (rs->state_fd >= 0)
		close(rs->state_fd);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
}

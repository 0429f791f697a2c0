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
 *    request already read by the daemon is waited for uninterruptibly). The requests stay in the
 *    processing list of the /dev/fuse file they were read from (fuse_dev_do_write() looks the
 *    reply's unique up in the fuse_dev of the file written to), and every worker reads and writes
 *    the one file the fd store keeps (never a FUSE_DEV_IOC_CLONE copy, whose list would end with
 *    its last fd: fuse_dev_release() fails those requests with ECONNABORTED), so a new worker's
 *    reply with the same unique is taken. To know them, each reading thread has a slot in the
 *    state memfd and read()s the request straight into it: the kernel's copy is the record, so
 *    a request taken by a thread that is being killed (a SIGKILLed process's threads still take
 *    what is pending before they die: the wait checks for a request before the signal) is
 *    recorded as well. A slot is cleared after its reply was written; a new worker replays the
 *    slots still set. A record that the dead worker had answered after all draws ENOENT from the
 *    kernel, which is harmless as long as replaying it leaves nothing behind: a stale fh in a
 *    replayed request gets a handle for that request only (see struct resume).
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
#include <sys/stat.h>
#include <unistd.h>

#include "fdstore.h"
#include "resume.h"
#include "tree.h" /* the inode numbers of files */

/* From include/uapi/linux/fuse.h 7.40 (Debian 12's headers are 7.38). */
#define CG_FUSE_HAS_RESEND2 (1u << (39 - 32)) /* in flags2 */
#define CG_FUSE_NOTIFY_RESEND 7

#define STATE_MAGIC 0x32657461747366ULL /* "fstate2" */
#define INIT_MAX 256
/* More than the reading threads libfuse's loop runs (10 idle, a few busy). */
#define SLOTS 32
/* A read of /dev/fuse must offer room for a request header, a write header and max_write
 * (fuse_dev_do_read()); libfuse 3.14 reads with 1 MiB + 4 KiB and negotiates 1 MiB. Only the
 * first page of a slot is ever touched by our (small) requests: the memfd stays sparse. */
#define SLOT_BYTES ((size_t)(1u << 20) + 8192)
#define SLOTS_OFF 4096
#define STATE_BYTES (SLOTS_OFF + SLOTS * SLOT_BYTES)
#define FH_TAG_SHIFT 48
#define FH_PTR_MASK ((1ULL << FH_TAG_SHIFT) - 1)

/* The state memfd, shared by every worker of one connection: this head, then at SLOTS_OFF the
 * SLOTS read buffers (kernels without resend only), each starting with the fuse_in_header the
 * kernel copied in: a unique other than 0 is a request read and not answered yet. */
struct resume_state {
	uint64_t magic;
	uint32_t init_len;  /* the INIT request was read */
	uint32_t init_done; /* its reply reached the kernel */
	uint32_t generation;
	uint32_t pad;
	char init[INIT_MAX];
	uint32_t busy[SLOTS]; /* claimed by a reading thread of the current worker */
};

_Static_assert(sizeof(struct resume_state) <= SLOTS_OFF, "the state head overlaps the slots");

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
	/* While a record is replayed, the handle a stale fh gets lives for that request only: the
	 * record may be one the dead worker had answered just before it died (its slot not cleared
	 * yet), and the kernel may since have given the same fh to another file opened under that
	 * worker; an adoption made from such a record would answer that file's reads with this
	 * one's text. */
	bool replaying;
	struct cgprocfs_file *replay_file;
	pthread_mutex_t lock;
	struct adopted *adopted;
};

static __thread int tl_slot = -1; /* this thread's slot, from its read to its reply */
static __thread bool tl_open;	  /* this thread serves an OPEN */

static int state_map(struct resume *rs)
{
	struct stat sb;
	void *p;

	if (fstat(rs->state_fd, &sb) < 0)
		return -errno;
	if (sb.st_size < (off_t)STATE_BYTES)
		return -EPROTO; /* another layout: a worker of another version */
	p = mmap(NULL, STATE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, rs->state_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	rs->st = p;
	return 0;
}

static struct fuse_in_header *slot_head(const struct resume *rs, int i)
{
	return (struct fuse_in_header *)((char *)rs->st + SLOTS_OFF + (size_t)i * SLOT_BYTES);
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
	if (ftruncate(rs->state_fd, (off_t)STATE_BYTES) < 0)
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

static struct cgprocfs_file *file_new(uint64_t ino)
{
	struct cgprocfs_file *f = calloc(1, sizeof(*f));

	if (f) {
		pthread_mutex_init(&f->lock, NULL);
		f->vfile_id = (unsigned)(ino - FILE_INO_BASE);
	}
	return f;
}

static void file_free(struct cgprocfs_file *f)
{
	if (!f)
		return;
	free(f->data);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/*
 * Answer the records the dead worker left. Each stays set until its reply was written (the slot
 * is this thread's while the request is served), so a worker that dies in its own replay leaves
 * the rest, and the one it was answering, to the next.
 */
static unsigned replay(struct resume *rs, struct fuse_session *se)
{
	unsigned n = 0;

	for (int i = 0; i < SLOTS; i++) {
		struct fuse_in_header *in = slot_head(rs, i);
		struct fuse_buf fb = {0};

		rs->st->busy[i] = 0;
		if (!in->unique)
			continue;
		if (in->len < sizeof(*in) || in->len > SLOT_BYTES || !(fb.mem = malloc(in->len))) {
			in->unique = 0;
			continue;
		}
		fb.size = in->len;
		memcpy(fb.mem, in, in->len);
		tl_slot = i;
		rs->replaying = true;
		fuse_session_process_buf(se, &fb);
		rs->replaying = false;
		file_free(rs->replay_file);
		rs->replay_file = NULL;
		/* answered (resume_replied cleared it), or nothing to answer */
		in->unique = 0;
		tl_slot = -1;
		free(fb.mem);
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
	}
}

bool resume_records(const struct resume *rs)
{
	return rs && rs->record;
}

ssize_t resume_read(struct resume *rs, int fd, void *buf, size_t len)
{
	struct fuse_in_header *in;
	ssize_t n;

	/* libfuse reads with its buffer size, and the kernel wants room for max_write: a
	 * larger buffer (pages over 4 KiB) does not fit a slot; such a read is not recorded */
	if (len > SLOT_BYTES)
		return read(fd, buf, len);
	if (tl_slot < 0) {
		for (int i = 0; i < SLOTS && tl_slot < 0; i++) {
			uint32_t free_slot = 0;

			if (__atomic_compare_exchange_n(&rs->st->busy[i], &free_slot, 1, false,
							__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				tl_slot = i;
		}
		if (tl_slot < 0) /* more readers than slots: this one is not recorded */
			return read(fd, buf, len);
	}
	in = slot_head(rs, tl_slot);
	/* also maps the slot's first page before the kernel copies into it: a fault taken while
	 * the process is being killed would fail the copy (and the request with EIO) */
	__atomic_store_n(&in->unique, 0, __ATOMIC_RELEASE);
	n = read(fd, in, len);
	if (n > 0)
		memcpy(buf, in, (size_t)n);
	/* no reply will clear these: a failed read, or requests nobody waits for */
	if (n < (ssize_t)sizeof(*in) || in->opcode == FUSE_FORGET ||
	    in->opcode == FUSE_BATCH_FORGET || in->opcode == FUSE_INTERRUPT) {
		__atomic_store_n(&in->unique, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&rs->st->busy[tl_slot], 0, __ATOMIC_RELEASE);
		tl_slot = -1;
	}
	return n;
}

bool resume_on_reply(struct resume *rs, struct iovec *iov, int count, ssize_t *ret)
{
	struct fuse_out_header *out;

	if (!rs || count < 1 || iov[0].iov_len < sizeof(*out))
		return false;
	out = iov[0].iov_base;
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

void resume_replied(struct resume *rs, const struct iovec *iov, int count)
{
	struct fuse_in_header *in;

	if (!rs || tl_slot < 0 || count < 1 || iov[0].iov_len < sizeof(struct fuse_out_header))
		return;
	in = slot_head(rs, tl_slot);
	if (in->unique != ((const struct fuse_out_header *)iov[0].iov_base)->unique)
		return;
	__atomic_store_n(&in->unique, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&rs->st->busy[tl_slot], 0, __ATOMIC_RELEASE);
	tl_slot = -1;
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
	if (rs->replaying) {
		/* not adopted: see struct resume */
		if (how == RESUME_FH_READ && ino >= FILE_INO_BASE && ino < DIR_INO_FLAG &&
		    !rs->replay_file)
			rs->replay_file = file_new(ino);
		return how == RESUME_FH_READ ? (uint64_t)(uintptr_t)rs->replay_file : 0;
	}
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
			a->f = file_new(ino);
		if (a && a->f) {
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
		file_free(a->f);
		free(a);
	}
	if (rs->st)
		munmap(rs->st, STATE_BYTES);
	if (rs->state_fd >= 0)
		close(rs->state_fd);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
}

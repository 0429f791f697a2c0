/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fds the shim hands out. Owns shim.fdtab (state.h): a fixed fd-indexed table of the
 * snapshots handed out (atomics only), so that a rewind (lseek to 0, pread at 0: vmstat, top)
 * re-renders. An entry is trusted only when fstat() of the fd still shows the snapshot's inode:
 * the fd may have been closed behind our back and reused.
 *
 * A snapshot is a sealed memfd (or an O_TMPFILE in /dev/shm where memfd_create is denied),
 * handed out as a fresh open file description on the very fd number the caller gets.
 *
 * Must not: decide which file is virtual (identify.c) or whether a snapshot is reused
 * (snapcache.c). Any failure leaves the caller with the real fd. Nothing here allocates, locks or
 * prints.
 */
#include <string.h>
#include <sys/mman.h>

#include "raw.h"
#include "shim.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x1U
#define MFD_ALLOW_SEALING 0x2U
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_SEAL_SEAL 0x1
#define F_SEAL_SHRINK 0x2
#define F_SEAL_GROW 0x4
#define F_SEAL_WRITE 0x8
#endif

void fd_path(char *out, size_t size, int fd)
{
	struct buf b;

	buf_init(&b, out, size - 1);
	buf_puts(&b, "/proc/self/fd/");
	buf_put_u64(&b, (uint64_t)fd);
	out[b.len] = '\0';
}

/* pwrite, not write: the offset stays 0 for the reader, no lseek needed. */
static int write_all(int fd, const char *data, size_t len)
{
	off_t off = 0;

	while (len > 0) {
		ssize_t n = raw_pwrite(fd, data, len, off);

		if (n == -EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? (int)n : -EIO;
		data += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Content as a fresh description on the lowest free fd number (as the real open would have
 * returned), close-on-exec as @cloexec says: a sealed memfd, else an O_TMPFILE in /dev/shm
 * (memfd_create denied by a seccomp profile or missing).
 *
 * The memfd is handed out as it is, O_RDWR but sealed (F_SEAL_WRITE, _GROW, _SHRINK, _SEAL): its
 * bytes cannot change, a write() fails with EPERM (the real /proc file: EBADF) and F_GETFL shows
 * O_RDWR. Re-opening it O_RDONLY through /proc/self/fd/N and moving that onto the number would
 * make both match the real file, but costs openat + dup3 + close: measured 5.3 us on top of an
 * 11 us serve (memfd_create 4.1, pwrite 3.7, seals 0.8, fstat), when the whole virtual open is
 * allowed twice the native read of /proc/meminfo (9-10 us). No program was found to care about
 * a failing write's errno or a read-only fd's access mode, so the re-open is not done. The
 * /dev/shm fallback cannot be sealed: it is still re-opened read-only.
 */
int snapshot_open(const struct vfile *vf, const char *data, size_t len, bool cloexec,
		  bool *ret_sealed)
{
	char name[48], path[40];
	struct buf b;
	int wfd, rfd, r;

	buf_init(&b, name, sizeof(name) - 1);
	buf_puts(&b, "cgproc:");
	buf_puts(&b, vf->name);
	name[b.len] = '\0';
	wfd = raw_memfd_create(name, (cloexec ? MFD_CLOEXEC : 0) | MFD_ALLOW_SEALING);
	if (wfd >= 0) {
		r = write_all(wfd, data, len);
		if (r == 0)
			r = raw_fcntl(wfd, F_ADD_SEALS,
				      F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
		if (r < 0) {
			raw_close(wfd);
			return r;
		}
		*ret_sealed = true;
		return wfd;
	}
	wfd = raw_openat(AT_FDCWD, "/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (wfd < 0)
		return wfd;
	shim_log("memfd_create denied, tmpfile for", vf->name, 0);
	r = write_all(wfd, data, len);
	if (r < 0) {
		raw_close(wfd);
		return r;
	}
	fd_path(path, sizeof(path), wfd);
	rfd = raw_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (rfd < 0) {
		raw_close(wfd);
		return rfd;
	}
	/* onto the lower number: the write end goes away with it */
	r = raw_dup3(rfd, wfd, cloexec ? O_CLOEXEC : 0);
	raw_close(rfd);
	if (r < 0) {
		raw_close(wfd);
		return r;
	}
	*ret_sealed = false;
	return wfd;
}

void fdtab_set(int fd, const struct stat *st, enum vfile_id id, pid_t pid, pid_t tid)
{
	uint64_t meta = (uint64_t)id | ((uint64_t)pid & 0x1fffffff) << 6 |
			((uint64_t)tid & 0x1fffffff) << 35;

	if (fd < 0 || fd >= FDTAB_SIZE)
		return;
	atomic_store_explicit(&shim.fdtab[fd].ino, 0, memory_order_relaxed);
	atomic_store_explicit(&shim.fdtab[fd].dev, st->st_dev, memory_order_relaxed);
	atomic_store_explicit(&shim.fdtab[fd].meta, meta, memory_order_relaxed);
	atomic_store_explicit(&shim.fdtab[fd].ino, st->st_ino, memory_order_release);
}

/* Render @vf and put a snapshot on @fd (a real open, or a rewind of a snapshot) with
 * close-on-exec as @cloexec says (a regular file ignores O_NONBLOCK, so no other status flag
 * needs carrying over). */
int snapshot_put(int fd, const struct vfile *vf, pid_t pid, pid_t tid, bool cloexec)
{
	struct stat st;
	int sfd, r;

	sfd = snapshot_render(vf, pid, tid, cloexec, &st);
	if (sfd < 0)
		return sfd;
	r = raw_dup3(sfd, fd, cloexec ? O_CLOEXEC : 0);
	raw_close(sfd);
	if (r < 0)
		return r;
	fdtab_set(fd, &st, vf->id, pid, tid);
	return 0;
}

void shim_rewind_hook(int fd)
{
	uint64_t ino, meta;
	const struct vfile *vf;
	struct stat st;
	struct shim_guard g;
	int fdflags, r;

	if (fd < 0 || fd >= FDTAB_SIZE)
		return;
	ino = atomic_load_explicit(&shim.fdtab[fd].ino, memory_order_acquire);
	if (ino == 0 || !shim_active() || !shim_stack_ok())
		return;
	shim_enter(&g);
	meta = atomic_load_explicit(&shim.fdtab[fd].meta, memory_order_relaxed);
	if (raw_fstat(fd, &st) < 0 || st.st_ino != ino ||
	    st.st_dev != atomic_load_explicit(&shim.fdtab[fd].dev, memory_order_relaxed)) {
		/* closed behind our back and reused: forget it */
		shim_log("rewind: fd no longer a snapshot, forgotten:", NULL, fd);
		atomic_compare_exchange_strong(&shim.fdtab[fd].ino, &ino, 0);
		goto out;
	}
	vf = vfile_by_id((enum vfile_id)(meta & 0x3f));
	fdflags = raw_fcntl(fd, F_GETFD, 0);
	if (vf && fdflags >= 0) {
		r = snapshot_put(fd, vf, (pid_t)((meta >> 6) & 0x1fffffff),
				 (pid_t)((meta >> 35) & 0x1fffffff), fdflags & FD_CLOEXEC);
		if (r < 0)
			shim_log("refresh failed for", vf->name, r);
	}
out:
	shim_leave(&g);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writing a seccomp user-notification answer into the process that made the call, for every
 * supervisor that answers a trapped system call by filling the caller's memory (the sysinfo
 * listener of `cgproc run --fuse`, a container runtime's sysinfo agent).
 *
 * The notification names its caller by pid only, and a pid can be reused the moment that process
 * dies (SIGKILL while it waits). process_vm_writev(pid, ...) after a check of the notification id
 * therefore can write into whatever process has the pid by then. The safe order, which
 * notif_mem_open() and notif_mem_write() implement:
 *   1. open /proc/<pid>/mem: the fd is bound to that process's address space from now on, and
 *      a later process with the same pid is never reached through it;
 *   2. SECCOMP_IOCTL_NOTIF_ID_VALID: the notifying call is still waiting, so the process the
 *      pid named at step 1 was that caller (a pid is reused only after its process is gone,
 *      and the call ends with it);
 *   3. pwrite through the fd (its address space, whatever the pid names now);
 *   4. SECCOMP_IOCTL_NOTIF_ID_VALID again before SECCOMP_IOCTL_NOTIF_SEND (the caller may have
 *      died during the write; the reply would then be for nobody).
 * (seccomp_unotify(2), "Design goals; use of SECCOMP_USER_NOTIF_FLAG_CONTINUE" and the
 * NOTIF_ID_VALID discussion; proc(5) /proc/pid/mem.)
 *
 * Opening /proc/<pid>/mem needs ptrace access to the caller (PTRACE_MODE_ATTACH, as
 * process_vm_writev does): root, or the caller's own user when it is dumpable and the Yama
 * scope allows. A write through it reaches pages the caller could write itself only (private
 * copies for read-only private mappings, never a shared read-only file mapping).
 *
 * Plain libc and kernel headers; no state; thread-safe.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Steps 1 and 2 for notification @id of process @pid on listener @notify_fd: an O_CLOEXEC fd
 * bound to the caller's memory, or -errno (-ENOENT: the call is no longer waiting, send no
 * reply; -EACCES/-EPERM: no ptrace access). The caller closes it. */
int notif_mem_open(int notify_fd, uint64_t id, pid_t pid);

/* Steps 3 and 4: all @len bytes of @buf at @addr in the caller through @mem_fd (from
 * notif_mem_open), then the id checked again. 0 when written and the call still waits (send the
 * reply), -EFAULT when the address is not writable in full (reply -EFAULT, as the kernel would),
 * -ENOENT when the call is gone (send nothing). */
int notif_mem_write(int notify_fd, uint64_t id, int mem_fd, uint64_t addr, const void *buf,
		    size_t len);

/* notif_mem_open() + notif_mem_write() + close: the whole sequence for one answer. */
int notif_write(int notify_fd, uint64_t id, pid_t pid, uint64_t addr, const void *buf, size_t len);

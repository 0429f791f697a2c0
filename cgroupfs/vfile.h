/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * THE table of virtual files, and the one entry point both front ends (the preload shim and
 * cgprocfs) and the CLI use to render them. A row is everything about a file: id, path, short
 * name, policy flags, renderer (render.c). Never a second list of paths or names: the shim learns
 * which inodes to intercept from this table, cgprocfs builds its tree from it, "files=" resolves
 * against it, `cgproc show` lists it in --list and --help (tests/integration/test-vfile-table.c
 * checks the man pages against it).
 *
 * Rendering is synchronous, allocation-free and lock-free: the caller passes scratch memory for
 * the inputs and an output buffer; -ENOBUFS means "give me more" (buf.need says how much output).
 * Any other error means: serve the host file instead (shim and cgprocfs fall back silently).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/sysinfo.h>
#include <sys/types.h>

#include "model/buf.h"
#include "model/config.h"
#include "model/sample.h"
#include "source/source.h"

enum vfile_id {
	VFILE_PROC_MEMINFO,
	VFILE_PROC_CPUINFO,
	VFILE_PROC_STAT,
	VFILE_PROC_UPTIME,
	VFILE_PROC_LOADAVG,
	VFILE_PROC_SWAPS,
	VFILE_PROC_DISKSTATS,
	VFILE_PROC_PRESSURE_CPU,
	VFILE_PROC_PRESSURE_MEMORY,
	VFILE_PROC_PRESSURE_IO,
	VFILE_SYS_CPU_ONLINE,
	VFILE_SYS_CPU_POSSIBLE,
	VFILE_SYS_CPU_PRESENT,
	VFILE_PROC_PID_STAT, /* /proc/<pid>/stat and /proc/<pid>/task/<tid>/stat: starttime shift */
	VFILE_PROC_VMSTAT,
	VFILE_SYS_NODE0_MEMINFO, /* node0 files: the machine's where the host is one NUMA node */
	VFILE_SYS_NODE0_CPULIST,
	VFILE_SYS_NODE0_CPUMAP,
	_VFILE_MAX,
};

/* Ids are bits of the configuration's "files=" mask (struct cgproc_config.files) and of the
 * shim's 6-bit fd-table field; they are append-only because cgprocfs's inode numbers are
 * derived from them. */
_Static_assert(_VFILE_MAX <= 64, "vfile ids must fit a 64-bit mask and a 6-bit field");

/* Per-file policy, in struct vfile.flags. VFILE_PER_PROCESS: the path has a pid in it, shim
 * only (cgprocfs cannot overlay it). VFILE_USAGE: the file shows the cgroup's memory usage,
 * which the pages of a kept snapshot of the file itself move (the shim renders such a file
 * again before it keeps a new snapshot). */
#define VFILE_PER_PROCESS 0x1
#define VFILE_USAGE 0x2

struct vfile_req;

struct vfile {
	enum vfile_id id;
	const char *path; /* absolute host path; "/proc/<pid>/stat" for the per-process entry */
	const char *name; /* short name used in config "files=" and `cgproc show` */
	unsigned flags;
	int (*render)(const struct vfile_req *req, struct buf *out);
};

extern const struct vfile vfile_table[_VFILE_MAX];

#define vfile_foreach(vf)                                                                          \
	for (const struct vfile *vf = vfile_table; vf < vfile_table + _VFILE_MAX; vf++)

/* Exact absolute path ("/proc/meminfo") or short name ("meminfo"); NULL when not virtual. */
const struct vfile *vfile_lookup(const char *path_or_name);
/* Like vfile_lookup() for absolute paths, and also "/proc/<pid>/stat", "/proc/self/stat" and
 * "/proc/<pid>/task/<tid>/stat" (the per-process entry; pid 0 = self, tid 0 = none). */
const struct vfile *vfile_match(const char *path, pid_t *ret_pid, pid_t *ret_tid);

/* Whether @cfg serves @id (NULL: every file): "enabled" and @id's bit of "files=". */
static inline bool vfile_enabled(const struct cgproc_config *cfg, enum vfile_id id)
{
	return !cfg || (cfg->enabled && (unsigned)id < _VFILE_MAX && ((cfg->files >> id) & 1));
}

/* cfg->files from cfg->files_list, by the table's short names (config_files_resolve()). */
int vfile_config_resolve(struct cgproc_config *cfg);

/*
 * What a render's bytes are a function of, for the files whose renderer can say so (meminfo:
 * the host text's generation, src_read_gen(), and the machine's view): two renders of one file
 * with equal keys (n > 0) give equal bytes. The inputs are still read on every render; only
 * turning them into text again is what a key can save.
 */
#define VFILE_KEY_WORDS 32
struct vfile_key {
	unsigned n; /* words of w in use; 0: no key */
	uint64_t w[VFILE_KEY_WORDS];
};
/* vfile_render(): the inputs make @req->same's key, nothing was written. */
#define VFILE_SAME 1

/* Everything a render needs. The front end fills it; render only reads it. */
struct vfile_req {
	const struct cg_src *src;
	const struct cg_machine *machine;
	const struct cgproc_config *config;
	const struct cg_sample *sample; /* sampler values for the machine cgroup, or NULL */
	pid_t pid;			/* VFILE_PROC_PID_STAT: /proc/<pid>[/task/<tid>]/stat */
	pid_t tid;			/* 0 = the process file */
	char *scratch;			/* inputs (host file, cgroup files) are read here */
	size_t scratch_size;
	/* Optional: *key is set to the render's key (n 0: none); when @same is set and the
	 * inputs make its key, vfile_render() returns VFILE_SAME without rendering. */
	struct vfile_key *key;
	const struct vfile_key *same;
};

/* Render @vf for @req into @out: 0, VFILE_SAME (see struct vfile_req), -ENOBUFS: scratch or out
 * too small (retry bigger). */
int vfile_render(const struct vfile *vf, const struct vfile_req *req, struct buf *out);

/*
 * /sys/devices/system/cpu as a directory (the table's online, possible and present are three of
 * its files): cgprocfs serves the whole host directory, read-only, with these two answers per
 * caller. Both follow the "cpu-online" entry of the config's files (off: the host directory).
 */
#define VFILE_CPU_DIR "/sys/devices/system/cpu"
/* Inside a container given the shim and cgprocfs's files (the OCI hook's auto view): read-only
 * clones of the container's own /proc and /sys/devices/system files that cgprocfs covers, taken
 * before they are covered, at this directory + their path ("<this>/proc/meminfo"). The shim
 * renders from them (cg_src.inputs) instead of from the covering FUSE files. */
#define VFILE_HOST_INPUTS "/usr/lib/cgproc/host"
/* The machine's visible CPUs: which cpuN entries the directory lists (cpudir_entry_visible). */
int vfile_cpudir_visible(const struct vfile_req *req, struct cpuset *ret);
/* The text of @relpath ("cpu3/topology/core_cpus", relative to VFILE_CPU_DIR) for the machine;
 * -ENODATA: the host file's bytes are the machine's (cpusys_kind_of() CPUSYS_HOST) or the
 * machine is unknown. -ENOBUFS as vfile_render(). */
int vfile_cpudir_render(const struct vfile_req *req, const char *relpath, struct buf *out);

/* The same facts for the libc calls: answered from exactly the values the files show. */
int vfile_sysinfo(const struct vfile_req *req, struct sysinfo *inout); /* inout: host values */
int vfile_nprocs(const struct vfile_req *req, bool conf, unsigned *ret);
int vfile_loadavg(const struct vfile_req *req, double ret[3]);

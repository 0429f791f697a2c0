/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The renderers vfile_table points at (render.c); only vfile.c uses this header. */
#pragma once

#include "vfile.h"

int render_meminfo(const struct vfile_req *req, struct buf *out);
int render_swaps(const struct vfile_req *req, struct buf *out);
int render_cpuinfo(const struct vfile_req *req, struct buf *out);
int render_cpulist(const struct vfile_req *req, struct buf *out);
int render_stat(const struct vfile_req *req, struct buf *out);
int render_uptime(const struct vfile_req *req, struct buf *out);
int render_loadavg(const struct vfile_req *req, struct buf *out);
int render_pressure_cpu(const struct vfile_req *req, struct buf *out);
int render_pressure_memory(const struct vfile_req *req, struct buf *out);
int render_pressure_io(const struct vfile_req *req, struct buf *out);
int render_diskstats(const struct vfile_req *req, struct buf *out);
int render_pid_stat(const struct vfile_req *req, struct buf *out);

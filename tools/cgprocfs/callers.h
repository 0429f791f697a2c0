/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who is asking: the callers of cgprocfs resolved once and kept (part of libcgprocfs-serve.so,
 * one cache per loaded library copy). See callers.c for how long each item may be kept.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "model/config.h"
#include "source/source.h"
#include "source/table.h"

/* What a request needs to know about its caller, as the shim in that process would know it.
 * Immutable once published; shared by reference between the requests that use it. */
struct caller_snap {
	atomic_uint refs;
	int r;			     /* 0, or why the caller could not be resolved (-errno) */
	bool partial;		     /* resolved without its environment: not kept for later */
	uint64_t machine_hash;	     /* of the machine's paths: callers of one machine share it */
	struct cgproc_config config; /* cgproc.conf, then the caller's CGPROC_* environment */
	struct cg_machine machine;   /* with its start and limits resolved when they could be */
};

/* One request's view of its caller: caller_get() takes a reference, caller_put() drops it. */
struct caller {
	struct caller_snap *snap;
	struct cg_sample sample; /* the sampler's values, looked up for this request */
	bool has_sample;
};

struct caller_cache;

/* A cache resolving callers through @src (kept: must outlive the cache) on top of @base (the
 * daemon's cgproc.conf, copied). */
int caller_cache_new(const struct cg_src *src, const struct cgproc_config *base,
		     struct caller_cache **ret);
void caller_cache_free(struct caller_cache *c);

/* The caller with host pid @pid. On success (>= 0) @ret holds a reference to a snapshot whose
 * r may still say the caller could not be resolved (serve the host file then). */
int caller_get(struct caller_cache *c, pid_t pid, struct caller *ret);
void caller_put(struct caller *c);

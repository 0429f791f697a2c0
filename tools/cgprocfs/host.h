/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The thin libfuse host of cgprocfs (cgprocfs.c): its state, the gate every request passes, and
 * the serving library it loads and replaces (upgrade.c).
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>

#include "serve.h"

struct ring;
struct resume;

struct serve_lib {
	void *handle;
	int memfd; /* kept open while loaded: its /proc/self/fd name must stay unique */
	const struct cgprocfs_serve_ops *ops;
	void *state;
	unsigned generation;
};

/* Requests pass the gate; a swap closes it and waits for the in-flight count to reach zero. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned inflight;
	bool closed;
};

struct host {
	struct gate gate;
	struct serve_lib *lib; /* read under the gate */
	struct cgprocfs_params params;
	char lib_path[PATH_MAX];
	unsigned generation;
	int reload_pipe[2];
	struct fuse_session *se;
	struct ring *ring; /* NULL: /dev/fuse only */
	struct resume *rs; /* NULL: the connection dies with this process */
	pthread_t reloader;
	bool reloader_started;
};

/* Requests pass the gate; a swap of the library closes it until none is in flight. */
void gate_enter(struct gate *g);
void gate_leave(struct gate *g);

/* Load a private copy of the library at h->lib_path (a new generation), or free one. */
int serve_lib_load(struct host *h, struct serve_lib **ret);
void serve_lib_free(struct serve_lib *l);
/* The library next to the binary, else the installed one: 0, or -ENOENT (@out set anyway). */
int serve_lib_path_default(char *out, size_t size);

/* SIGUSR1 asks the reload thread for a new generation: the handler (before confinement), the
 * thread (after), its end. */
int upgrade_signal(struct host *h);
int upgrade_thread_start(struct host *h);
void upgrade_thread_stop(struct host *h);

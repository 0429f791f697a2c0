/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the OCI integration pieces share: the view modes and their annotation, where the pieces
 * are, and reading the runtime's documents (state on stdin, <bundle>/config.json).
 *
 *   cgproc oci-hook       createContainer hook (oci-hook.c): binds the view into a container
 *   cgproc oci-runtime    runc-compatible wrapper (oci-runtime.c): adds the hook and the seccomp
 *                         listener to config.json, then execs the real runtime
 *   cgproc cdi            CDI spec generator (oci-cdi.c)
 *   cgproc sysinfo-agent  answers containers' sysinfo(2) from their seccomp notify fds
 *                         (oci-agent.c)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cgproc-config.h"
#include "json.h"

enum oci_view {
	OCI_VIEW_AUTO, /* the shim when the image has the host's dynamic loader, else cgprocfs */
	OCI_VIEW_SHIM,
	OCI_VIEW_FUSE,
	OCI_VIEW_OFF,
};

#define OCI_ANNOTATION "io.cgproc.view"
/* Where cgprocfs is mounted on the host, and cgprocd's run directory (both bound read-only). */
#define OCI_CGPROCFS_DIR "/var/lib/cgproc"
/* Inside the container: where the hook binds the shim, and the file that preloads it. */
#define OCI_SHIM_DEST "/usr/lib/cgproc/libcgproc.so"
#define OCI_PRELOAD_FILE "/etc/ld.so.preload"
/* The sysinfo agent's socket (linux.seccomp.listenerPath) and the metadata the wrapper sets. Next
 * to the run directory, not in it: the hook binds that directory into containers, and no
 * container may reach the agent's socket (connect(2) works on a read-only mount). */
#define OCI_AGENT_SOCKET CGPROC_RUNDIR "-sysinfo.sock"
#define OCI_LISTENER_METADATA "cgproc"
#define OCI_NOTIFY_ACTION "SCMP_ACT_NOTIFY"

/* Documents from runtimes are small; anything larger is refused rather than read. */
#define OCI_STATE_MAX (1 << 20)
#define OCI_CONFIG_MAX (16 << 20)

/* "auto", "shim", "fuse", "off" -> *@ret: 0, or -EINVAL for anything else. */
int oci_view_parse(const char *s, enum oci_view *ret);
const char *oci_view_name(enum oci_view view);

/* Reads and parses the JSON file @path (at most @max bytes). 0 or -errno (-EBADMSG: not JSON). */
int oci_doc_load(const char *path, size_t max, struct json_doc **ret);

/* The view a document's annotations ask for: 0 and *@ret when OCI_ANNOTATION is a valid mode,
 * -ENOENT when absent, -EINVAL when present but not a mode. */
int oci_annotation_view(const struct json *annotations, enum oci_view *ret);

/* Absolute path of the running cgproc executable (the hook the wrapper adds is `cgproc
 * oci-hook`). 0 or -errno. */
int oci_self_exe(char *buf, size_t size);

int cmd_oci_hook(int argc, char **argv);
int cmd_oci_runtime(int argc, char **argv);
int cmd_cdi(int argc, char **argv);
int cmd_sysinfo_agent(int argc, char **argv);

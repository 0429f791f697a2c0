/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `cgproc oci-runtime` (also installed as cgproc-runc): a runc-compatible runtime for engines
 * that take a runtime binary (Docker's daemon.json "runtimes", containerd's runc shim
 * BinaryName, podman --runtime). On `create` and `run` it edits <bundle>/config.json:
 *   - adds `cgproc oci-hook` as a createContainer hook (the view: shim or cgprocfs files);
 *   - when the sysinfo agent answers on its socket, traps sysinfo(2) with SCMP_ACT_NOTIFY and
 *     sets linux.seccomp.listenerPath to it (oci-seccomp.c), so static and musl programs get the
 *     container's sysinfo too;
 * then execs the real runtime with the same arguments. Every other subcommand passes through
 * untouched. The annotation io.cgproc.view=off leaves config.json as it is.
 *
 * Its own options come first and are not passed on:
 *   --cgproc-runtime PATH  the real runtime (default: $CGPROC_OCI_RUNTIME, else runc in PATH)
 *   --cgproc-view MODE     the hook's default view (auto)
 *   --cgproc-agent SOCKET  the agent's socket (default OCI_AGENT_SOCKET)
 *   --cgproc-hook-log FILE passed to the hook as --log
 *
 * Must not: stop a container from starting. A config.json it cannot read or write is left as it
 * is (with a message) and the runtime runs anyway; the listener is added only when the agent
 * accepts a connection, since runc fails a start whose listenerPath it cannot reach.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "cgproc.h"
#include "oci-seccomp.h"
#include "oci.h"

struct wrapper {
	const char *runtime;
	const char *view;
	const char *agent;
	const char *hook_log;
};

/* runc's global options that take a value as the next argument (runc main.go). */
static bool global_takes_value(const char *opt)
{
	static const char *const with_value[] = {"--root", "--log",	 "--log-format",
						 "--criu", "--rootless", NULL};

	for (const char *const *o = with_value; *o; o++)
		if (strcmp(opt, *o) == 0)
			return true;
	return false;
}

/* Index of the subcommand in @argv (after runc's global options), or @argc. */
static int find_command(int argc, char **argv, int from)
{
	for (int i = from; i < argc; i++) {
		if (argv[i][0] != '-')
			return i;
		if (strchr(argv[i], '=') == NULL && global_takes_value(argv[i]))
			i++;
	}
	return argc;
}

/* The --bundle/-b of a create or run command line; "." when absent. */
static const char *find_bundle(int argc, char **argv, int cmd)
{
	for (int i = cmd + 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			break;
		if ((strcmp(a, "--bundle") == 0 || strcmp(a, "-b") == 0) && i + 1 < argc)
			return argv[i + 1];
		if (strncmp(a, "--bundle=", 9) == 0)
			return a + 9;
		if (strncmp(a, "-b=", 3) == 0)
			return a + 3;
	}
	return ".";
}

static bool agent_listening(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd, r;

	if (strlen(path) >= sizeof(addr.sun_path))
		return false;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	r = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	close(fd);
	return r == 0;
}

__attribute__((format(printf, 1, 2))) static void warn(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "cgproc oci-runtime: %s\n", msg);
	syslog(LOG_WARNING, "%s", msg);
}

/* Writes @doc to @path through a temporary file and rename(2), keeping @path's mode. */
static int config_save(struct json_doc *doc, const char *path)
{
	char tmp[PATH_MAX];
	struct stat st;
	FILE *f;
	int fd, r;

	if (stat(path, &st) < 0)
		return -errno;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.cgproc-XXXXXX", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		unlink(tmp);
		return r;
	}
	r = json_write(json_root(doc), f);
	if (fchmod(fd, st.st_mode & 07777) < 0 && r >= 0)
		r = -errno;
	if (fflush(f) != 0 && r >= 0)
		r = -EIO;
	if (fclose(f) != 0 && r >= 0)
		r = -EIO;
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

static int config_edit(const struct wrapper *w, const char *bundle)
{
	char path[PATH_MAX], self[PATH_MAX], view_arg[32], log_arg[PATH_MAX + 8];
	const char *args[4] = {"oci-hook", NULL, NULL, NULL}, *why = "";
	struct json_doc *doc = NULL;
	struct json *config;
	enum oci_view view;
	int n = 1, r, changed = 0;

	snprintf(path, sizeof(path), "%s/config.json", bundle);
	r = oci_doc_load(path, OCI_CONFIG_MAX, &doc);
	if (r < 0) {
		warn("cannot load %s: %s", path, strerror(-r));
		return r;
	}
	config = json_root(doc);
	if (oci_annotation_view(json_get(config, "annotations"), &view) == 0 &&
	    view == OCI_VIEW_OFF)
		goto out;
	r = oci_self_exe(self, sizeof(self));
	if (r < 0)
		goto out;
	if (w->view) {
		snprintf(view_arg, sizeof(view_arg), "--view=%s", w->view);
		args[n++] = view_arg;
	}
	if (w->hook_log) {
		snprintf(log_arg, sizeof(log_arg), "--log=%s", w->hook_log);
		args[n++] = log_arg;
	}
	r = oci_hooks_add(doc, config, "createContainer", self, args);
	if (r < 0) {
		warn("%s: cannot add the hook: %s", path, strerror(-r));
		goto out;
	}
	changed += r;
	if (agent_listening(w->agent)) {
		r = oci_seccomp_add_sysinfo(doc, config, w->agent, &why);
		if (r < 0)
			goto out;
		if (r == 0 && strcmp(why, "already added") != 0)
			warn("%s: sysinfo not trapped: %s", path, why);
		changed += r;
	}
	r = changed ? config_save(doc, path) : 0;
	if (r < 0)
		warn("cannot write %s: %s", path, strerror(-r));
out:
	json_doc_free(doc);
	return r;
}

/* The real runtime: --cgproc-runtime, $CGPROC_OCI_RUNTIME, else "runc" through PATH. */
static const char *real_runtime(const struct wrapper *w)
{
	const char *env = getenv("CGPROC_OCI_RUNTIME");

	if (w->runtime)
		return w->runtime;
	if (env && *env)
		return env;
	return "runc";
}

int cmd_oci_runtime(int argc, char **argv)
{
	struct wrapper w = {.agent = OCI_AGENT_SOCKET};
	const char **out;
	int i = 1, cmd, k = 0;

	openlog("cgproc-runc", LOG_PID, LOG_DAEMON);
	/* Our options: only first, only in the two-argument form. */
	while (i + 1 < argc && strncmp(argv[i], "--cgproc-", 9) == 0) {
		if (strcmp(argv[i], "--cgproc-runtime") == 0)
			w.runtime = argv[i + 1];
		else if (strcmp(argv[i], "--cgproc-view") == 0)
			w.view = argv[i + 1];
		else if (strcmp(argv[i], "--cgproc-agent") == 0)
			w.agent = argv[i + 1];
		else if (strcmp(argv[i], "--cgproc-hook-log") == 0)
			w.hook_log = argv[i + 1];
		else
			break;
		i += 2;
	}
	cmd = find_command(argc, argv, i);
	if (cmd < argc && (strcmp(argv[cmd], "create") == 0 || strcmp(argv[cmd], "run") == 0))
		config_edit(&w, find_bundle(argc, argv, cmd));

	out = calloc((size_t)argc + 1, sizeof(*out));
	if (!out) {
		fprintf(stderr, "cgproc oci-runtime: out of memory\n");
		return EXIT_SETUP;
	}
	out[k++] = real_runtime(&w);
	for (; i < argc; i++)
		out[k++] = argv[i];
	execvp(out[0], (char *const *)out);
	fprintf(stderr, "cgproc oci-runtime: cannot execute %s: %m\n", out[0]);
	return errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running cgproc-probe in a prepared child: see probe-run.h. Test code. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe-meminfo.h"
#include "probe-run.h"

extern char **environ;

int probe_start(const struct probe_opts *o, char *const actions[], struct probe_proc *ret)
{
	int out[2], in[2], sync[2];
	pid_t pid;
	char c;

	/* The go byte may be written after the child has exited: EPIPE, not SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(in, O_CLOEXEC) < 0 || pipe2(sync, O_CLOEXEC) < 0)
		return -errno;
	pid = harness_fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		static char *argv[64];
		static char preload[4200];
		int n = 0, r = 0;

		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		if (o->cg)
			r = testcg_attach(o->cg, getpid());
		if (r == 0 && o->setup)
			r = o->setup(o->arg);
		if (r < 0) {
			dprintf(1, "== setup-failed %d (%s)\n", r, strerror(-r));
			_exit(121);
		}
		for (char *const *w = o->wrap; w && *w && n < 30; w++)
			argv[n++] = *w;
		argv[n++] = o->program ? (char *)o->program
				       : (char *)build_path("tests/client/cgproc-probe");
		for (char *const *a = actions; *a && n < 62; a++)
			argv[n++] = *a;
		argv[n] = NULL;
		unsetenv("LD_PRELOAD");
		if (o->shim) {
			/* tools/run-sanitizers names libasan here: the instrumented shim in an
			 * uninstrumented program wants the ASan runtime first. */
			const char *first = getenv("CGPROC_TEST_PRELOAD_FIRST");

			snprintf(preload, sizeof(preload), "LD_PRELOAD=%s%s%s",
				 first && *first ? first : "", first && *first ? ":" : "",
				 build_path("preload/libcgproc.so"));
			putenv(preload);
		}
		for (char *const *e = o->env; e && *e; e++)
			putenv(*e);
		(void)write(sync[1], "x", 1);
		execvp(argv[0], argv);
		dprintf(1, "== exec-failed %s errno=%d\n", argv[0], errno);
		_exit(127);
	}
	close(out[1]);
	close(in[0]);
	close(sync[1]);
	(void)read(sync[0], &c, 1);
	close(sync[0]);
	ret->pid = pid;
	ret->out = out[0];
	ret->go = in[1];
	return 0;
}

/* Append what is readable within @ms to *buf; 0 at EOF, 1 when more may come, -ETIMEDOUT. */
static int read_some(int fd, char **buf, size_t *len, size_t *cap, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	ssize_t n;

	if (poll(&pfd, 1, ms) == 0)
		return -ETIMEDOUT;
	if (*len + 65536 + 1 > *cap) {
		*cap = (*len + 65536 + 1) * 2;
		*buf = realloc(*buf, *cap);
	}
	n = read(fd, *buf + *len, *cap - *len - 1);
	if (n < 0 && errno == EINTR)
		return 1;
	if (n <= 0)
		return 0;
	*len += (size_t)n;
	(*buf)[*len] = 0;
	return 1;
}

int probe_until_wait(struct probe_proc *p, char **ret_out)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	int r = 1;

	buf[0] = 0;
	while (!strstr(buf, "== waiting\n") && (r = read_some(p->out, &buf, &len, &cap, 30000)) > 0)
		;
	*ret_out = buf;
	return strstr(buf, "== waiting\n") ? 0 : (r < 0 ? r : -EPIPE);
}

int probe_finish(struct probe_proc *p, int timeout_s, char **ret_out)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	time_t end = time(NULL) + (time_t)timeout_s * harness_time_factor();
	int status = 0, r;

	buf[0] = 0;
	if (p->go >= 0) {
		(void)write(p->go, "g", 1);
		close(p->go);
		p->go = -1;
	}
	while ((r = read_some(p->out, &buf, &len, &cap, 1000)) != 0) {
		if (time(NULL) >= end) {
			kill(p->pid, SIGKILL);
			strcat(buf = realloc(buf, len + 64), "\n== killed-after-timeout\n");
			break;
		}
	}
	close(p->out);
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	*ret_out = buf;
	return status;
}

int probe_run(const struct probe_opts *o, char *const actions[], char **ret_out)
{
	struct probe_proc p;
	int r = probe_start(o, actions, &p);

	if (r < 0) {
		*ret_out = strdup("");
		return r;
	}
	return probe_finish(&p, 60, ret_out);
}

long long text_kb(const char *text, const char *key)
{
	size_t n = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, n) == 0 && l[n] == ':')
			return atoll(l + n + 1);
	}
	return -1;
}

static const char *header_find(const char *out, const char *label, int nth)
{
	char pat[512];
	const char *h = out;

	snprintf(pat, sizeof(pat), "== %s", label);
	for (;;) {
		h = strstr(h, pat);
		if (!h)
			return NULL;
		if ((h == out || h[-1] == '\n') && nth-- == 0)
			return h;
		h++;
	}
}

char *probe_section(const char *out, const char *label, int nth)
{
	const char *h = header_find(out, label, nth), *start, *end;

	if (!h)
		return NULL;
	start = strchr(h, '\n');
	if (!start)
		return strdup("");
	start++;
	end = strstr(start, "\n== ");
	end = end ? end + 1 : start + strlen(start);
	if (strncmp(start, "== ", 3) == 0)
		end = start;
	return strndup(start, (size_t)(end - start));
}

long long probe_field(const char *out, const char *label, int nth, const char *name)
{
	const char *h = header_find(out, label, nth), *eol, *f;
	char pat[128];

	if (!h)
		return -9999;
	eol = strchr(h, '\n');
	snprintf(pat, sizeof(pat), " %s=", name);
	f = strstr(h, pat);
	if (!f || (eol && f > eol))
		return -9999;
	return atoll(f + strlen(pat));
}

void probe_cg_setup(struct cgdirs *cg)
{
	harness_require_root();
	harness_require(access(build_path("preload/libcgproc.so"), R_OK) == 0,
			"libcgproc.so not built");
	testcg_sweep();
	cr_assert_eq(testcg_create(cg), 0);
	cr_assert_eq(testcg_limit_default(cg), 0);
}

long long host_memtotal_kb(void)
{
	return meminfo_total_kb();
}

char *text_keys(const char *text)
{
	size_t cap = strlen(text) + 1, len = 0;
	char *keys = malloc(cap);

	keys[0] = 0;
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *colon = strchr(l, ':'), *eol = strchr(l, '\n');

		if (!colon || (eol && colon > eol))
			continue;
		memcpy(keys + len, l, (size_t)(colon - l));
		len += (size_t)(colon - l);
		keys[len++] = ',';
		keys[len] = 0;
	}
	return keys;
}

int write_text(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r = 0;

	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			r = -errno;
			break;
		}
		data += n;
		len -= (size_t)n;
	}
	close(fd);
	return r;
}

int ns_private(void)
{
	if (unshare(CLONE_NEWNS) < 0)
		return -errno;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	return 0;
}

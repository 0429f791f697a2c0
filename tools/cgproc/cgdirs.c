/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A cgroup made directly in every mounted hierarchy: see cgdirs.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgdirs.h"
#include "util.h"

int cgdirs_list(char mounts[][256], char names[][64], int max)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int n = 0;

	if (!f)
		return -errno;
	while (n < max && fgets(line, sizeof(line), f)) {
		char mnt[256], fstype[64], opts[1024], ctl[64] = "", *sep, *save, *tok;

		sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1)
			continue;
		if (sscanf(sep + 3, "%63s %*s %1023s", fstype, opts) != 2)
			continue;
		if (strcmp(fstype, "cgroup2") == 0) {
			snprintf(ctl, sizeof(ctl), "unified");
		} else if (strcmp(fstype, "cgroup") == 0) {
			for (tok = strtok_r(opts, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (!strcmp(tok, "rw") || !strcmp(tok, "ro") || strchr(tok, '='))
					continue;
				if (*ctl)
					strncat(ctl, ",", sizeof(ctl) - strlen(ctl) - 1);
				strncat(ctl, tok, sizeof(ctl) - strlen(ctl) - 1);
			}
			if (!*ctl)
				continue; /* a named hierarchy (name=systemd): no controller */
		} else {
			continue;
		}
		snprintf(mounts[n], 256, "%s", mnt);
		snprintf(names[n], 64, "%s", ctl);
		n++;
	}
	fclose(f);
	return n;
}

/* v1 cpuset: a task can only join once cpus and mems are set; take the parent's. */
static void cpuset_inherit(const char *parent, const char *dir)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[512], val[256];

		snprintf(path, sizeof(path), "%s/%s", parent, files[i]);
		if (file_read_str(path, val, sizeof(val)) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		file_write_str(path, val);
	}
}

int cgdirs_create(struct cgdirs *cg, const char *name)
{
	char mounts[CGDIRS_MAX][256], names[CGDIRS_MAX][64];
	int n = cgdirs_list(mounts, names, CGDIRS_MAX);

	memset(cg, 0, sizeof(*cg));
	if (n <= 0)
		return n < 0 ? n : -ENOENT;
	snprintf(cg->name, sizeof(cg->name), "%s", name);
	for (int i = 0; i < n; i++) {
		char *dir = cg->dir[cg->n];

		snprintf(dir, sizeof(cg->dir[0]), "%s/%s", mounts[i], name);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			int r = -errno;

			cgdirs_destroy(cg);
			return r;
		}
		snprintf(cg->ctrl[cg->n], sizeof(cg->ctrl[0]), "%s", names[i]);
		cg->n++;
		if (strstr(names[i], "cpuset") && strcmp(names[i], "unified") != 0)
			cpuset_inherit(mounts[i], dir);
	}
	return 0;
}

int cgdirs_write(const struct cgdirs *cg, const char *file, const char *value)
{
	int r = -ENOENT;

	for (int i = 0; i < cg->n; i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", cg->dir[i], file);
		if (access(path, F_OK) != 0)
			continue;
		r = file_write_str(path, value);
		if (r == 0)
			return 0;
	}
	return r;
}

int cgdirs_attach(const struct cgdirs *cg, pid_t pid)
{
	char val[32];

	snprintf(val, sizeof(val), "%d", (int)pid);
	for (int i = 0; i < cg->n; i++) {
		char path[512];
		int r;

		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir[i]);
		r = file_write_str(path, val);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Move whatever is still in @dir to its parent, then remove @dir. */
static void dir_remove(const char *dir)
{
	char path[512], parent[512], *slash;
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash) {
		snprintf(slash, sizeof(parent) - (size_t)(slash - parent), "/cgroup.procs");
		f = fopen(path, "re");
		while (f && fscanf(f, "%d", &pid) == 1) {
			char val[32];

			snprintf(val, sizeof(val), "%d", pid);
			file_write_str(parent, val);
		}
		if (f)
			fclose(f);
	}
	cgdirs_rmdir(dir);
}

int cgdirs_rmdir(const char *dir)
{
	/* a just-reaped task can keep a cgroup busy for a moment */
	for (int tries = 0; tries < 100; tries++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		usleep(20000);
	}
	return -errno;
}

void cgdirs_destroy(struct cgdirs *cg)
{
	for (int i = cg->n - 1; i >= 0; i--)
		if (cg->dir[i][0]) {
			dir_remove(cg->dir[i]);
			cg->dir[i][0] = 0;
		}
	cg->n = 0;
}

void cgdirs_sweep_in(const char *parent, const char *prefix, bool exact)
{
	DIR *d = opendir(parent);
	size_t len = strlen(prefix);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char dir[600], *end;
		long pid;

		if (strncmp(de->d_name, prefix, len) != 0)
			continue;
		errno = 0;
		pid = strtol(de->d_name + len, &end, 10);
		if (errno || end == de->d_name + len || pid <= 0 || (exact && *end) ||
		    !(kill((pid_t)pid, 0) < 0 && errno == ESRCH))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", parent, de->d_name);
		if (!exact)
			dir_remove(dir);
		else
			(void)rmdir(dir);
	}
	closedir(d);
}

void cgdirs_sweep(const char *prefix)
{
	char mounts[CGDIRS_MAX][256], names[CGDIRS_MAX][64];
	int n = cgdirs_list(mounts, names, CGDIRS_MAX);

	for (int i = 0; i < n; i++)
		cgdirs_sweep_in(mounts[i], prefix, false);
}

bool cgdirs_lists(const char *procs, pid_t pid)
{
	char buf[65536], *p, *end;
	int fd = open(procs, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (p = buf; *p; p = end) {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		if (v == pid)
			return true;
	}
	return false;
}

int cgdirs_kill_listed(const char *dir)
{
	char procs[600];
	FILE *f;
	int pid, count = 0;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	f = fopen(procs, "re");
	if (!f)
		return 0;
	while (fscanf(f, "%d", &pid) == 1) {
		/* Pin the process first, then check it is still ours: a pid that was reused by
		 * someone else after the listing is not in this group. */
		int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

		count++;
		if (pidfd < 0)
			continue;
		if (cgdirs_lists(procs, pid))
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		close(pidfd);
	}
	fclose(f);
	return count;
}

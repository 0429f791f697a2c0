/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The harness itself: a cgroup made in every hierarchy, a child placed in it, all removed. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

static struct cgdirs cg;

static void setup(void)
{
	testcg_sweep();
}

static void teardown(void)
{
	testcg_destroy(&cg);
}

Test(harness, cgroup_lifecycle, .init = setup, .fini = teardown)
{
	char *argv[] = {"sleep", "30", NULL}, path[64], *out = NULL;
	pid_t pid;

	harness_require_root();
	cr_assert_eq(testcg_create(&cg), 0);
	cr_assert_gt(cg.n, 0);
	cr_assert_eq(testcg_limit_default(&cg), 0);
	pid = testcg_spawn(&cg, argv);
	cr_assert_gt(pid, 0);
	snprintf(path, sizeof(path), "cat /proc/%d/cgroup", pid);
	cr_assert_eq(harness_sh(path, &out, NULL), 0);
	cr_assert(strstr(out, cg.name), "child is in %s: %s", cg.name, out);
	harness_kill(pid);
	free(out);
	testcg_destroy(&cg);
	cr_assert_neq(access("/sys/fs/cgroup/memory", F_OK) == 0 && access(cg.dir[0], F_OK) == 0,
		      1);
}

/*
 * What Criterion does to a test past its .timeout: SIGKILL its worker, with no .fini. A child the
 * worker made with harness_fork() must die with it, or it would keep the test's output open and
 * hold up meson. The child holds a pipe's write end: EOF on the read end is its death.
 */
Test(harness, children_die_with_their_test, .timeout = 60)
{
	int p[2];
	pid_t worker, child = 0;
	struct pollfd pfd;
	char c;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	worker = fork();
	cr_assert_geq(worker, 0);
	if (worker == 0) {
		pid_t me;

		close(p[0]);
		if (harness_fork() == 0) {
			me = getpid();
			if (write(p[1], &me, sizeof(me)) != sizeof(me))
				_exit(1);
		}
		for (;;)
			pause();
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &child, sizeof(child)), (ssize_t)sizeof(child));
	kill(worker, SIGKILL);
	cr_assert_eq(waitpid(worker, NULL, 0), worker);
	pfd = (struct pollfd){.fd = p[0], .events = POLLIN};
	if (poll(&pfd, 1, 10000) != 1 || read(p[0], &c, 1) != 0) {
		kill(child, SIGKILL); /* ours: it wrote its pid into our pipe */
		cr_assert_fail("child %d of a killed test lives on", child);
	}
	close(p[0]);
}

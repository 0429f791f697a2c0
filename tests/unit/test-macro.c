/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of model/macro.h: the cleanup attributes run at scope exit, TAKE_* hand over. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "model/macro.h"

static int fd_open(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	return fd;
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

Test(macro, cleanup_close_at_scope_exit)
{
	int seen;

	{
		_cleanup_close_ int fd = fd_open();

		seen = fd;
		cr_expect(fd_is_open(fd));
	}
	cr_expect_not(fd_is_open(seen), "closed when its variable went out of scope");
	{
		_cleanup_close_ int none = -1; /* nothing to close: no error, no close(-1) */

		(void)none;
	}
}

Test(macro, take_fd_and_ptr_hand_over)
{
	int kept;
	char *p;

	{
		_cleanup_close_ int fd = fd_open();

		kept = TAKE_FD(fd);
		cr_expect_eq(fd, -1);
	}
	cr_expect(fd_is_open(kept), "TAKE_FD: the cleanup no longer owns it");
	close(kept);
	{
		_cleanup_free_ char *s = malloc(16);

		cr_assert_not_null(s);
		p = TAKE_PTR(s);
		cr_expect_null(s);
	}
	free(p); /* a double free would abort here (and under the sanitizers) */
}

Test(macro, cleanup_fclose_and_array_size)
{
	static const int three[] = {1, 2, 3};
	int fd;

	{
		_cleanup_fclose_ FILE *f = fopen("/dev/null", "re");

		cr_assert_not_null(f);
		fd = fileno(f);
		cr_expect(fd_is_open(fd));
	}
	cr_expect_not(fd_is_open(fd));
	cr_expect_eq(ARRAY_SIZE(three), 3);
}

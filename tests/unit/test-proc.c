/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the per-process /proc parsers (model/proc.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "model/proc.h"

Test(proc, pid_parse_as_proc_spells_pids)
{
	const char *p = "4242/task";
	pid_t pid = -1;

	cr_assert(pid_parse(&p, &pid));
	cr_expect_eq(pid, 4242);
	cr_expect_str_eq(p, "/task");
	cr_expect(pid_name("2147483647", &pid));
	cr_expect_eq(pid, 2147483647);
	pid = -1;
	cr_expect_not(pid_name("2147483648", &pid), "above INT32_MAX");
	cr_expect_not(pid_name("0", &pid));
	cr_expect_not(pid_name("012", &pid));
	cr_expect_not(pid_name("12x", &pid));
	cr_expect_not(pid_name("self", &pid));
	cr_expect_not(pid_name("", &pid));
	cr_expect_not(pid_name("-1", &pid));
	cr_expect_eq(pid, -1, "not written on failure");
}

Test(proc, status_nspid_tail_and_ppid)
{
	const char *text = "Name:\tbash\nPid:\t900\nPPid:\t899\nNSpid:\t900\t12\t1\nUid:\t0\n";
	struct span s = {text, strlen(text)};
	uint64_t nspid = 0, ppid = 0;

	cr_assert_eq(proc_status_parse(s, &nspid, &ppid), 0);
	cr_expect_eq(nspid, 1);
	cr_expect_eq(ppid, 899);
	s = (struct span){"PPid:\t1\n", 8};
	cr_expect_eq(proc_status_parse(s, &nspid, &ppid), -ENOENT, "no NSpid line");
	s = (struct span){"PPid:\tx\nNSpid:\t3\n", 17};
	cr_expect_eq(proc_status_parse(s, &nspid, &ppid), -EINVAL);
	s = (struct span){"PPid:\t1\nNSpid:\n", 15};
	cr_expect_eq(proc_status_parse(s, &nspid, &ppid), -EINVAL, "empty NSpid");
}

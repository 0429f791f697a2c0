/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The shim's next-symbol lookup (preload/next.c) against dlsym(RTLD_NEXT) called from the same
 * object: this test program, whose next objects are its libraries, libc among them. Every name
 * the shim wraps must be decided without dlsym on this glibc, to the very address dlsym gives;
 * what it cannot decide (an IFUNC, a name libc lacks) must be left to dlsym, never guessed.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <string.h>

#include "next.h"

/* the shim's list (init.c), then versioned names with a hidden older version in libc */
static const char names[] = "open\0open64\0openat\0openat64\0"
			    "__open_2\0__open64_2\0__openat_2\0__openat64_2\0"
			    "fopen\0fopen64\0freopen\0freopen64\0"
			    "lseek\0lseek64\0pread\0pread64\0__pread_chk\0__pread64_chk\0"
			    "rewind\0fseek\0fseeko\0fseeko64\0"
			    "sysinfo\0sysconf\0get_nprocs\0get_nprocs_conf\0"
			    "get_phys_pages\0get_avphys_pages\0getloadavg\0"
			    "readdir\0readdir64\0scandir\0scandir64\0"
			    "pthread_cond_wait\0realpath\0sched_setaffinity";
#define N_NAMES 36

static void init(void)
{
	cr_assert_eq(next_init(), 0, "next.c applies to a PIE program on glibc");
}

Test(next, same_as_dlsym_rtld_next, .init = init)
{
	const char *name = names;

	for (int k = 0; k < N_NAMES; k++, name += strlen(name) + 1) {
		void *want = dlsym(RTLD_NEXT, name), *got = next_find(name);

		cr_assert_not_null(want, "%s: dlsym has it", name);
		cr_expect_eq(got, want, "%s: %p, dlsym %p", name, got, want);
	}
	cr_expect_eq(name - names, (long)sizeof(names), "the list has %d names", N_NAMES);
}

Test(next, undecided_left_to_dlsym, .init = init)
{
	/* memcpy is an IFUNC in glibc: dlsym calls its resolver, next.c must not answer (under ASan
	 * the runtime's plain memcpy comes first: then it is that one) */
	void *mc = dlsym(RTLD_NEXT, "memcpy"), *got = next_find("memcpy");
	Dl_info info;

	cr_assert(dladdr(mc, &info) && info.dli_fname);
	if (strstr(info.dli_fname, "/libc.so"))
		cr_expect_eq(got, NEXT_UNKNOWN_PTR, "IFUNC decided: %p", got);
	else
		cr_expect(got == NEXT_UNKNOWN_PTR || got == mc, "memcpy of %s: %p, dlsym %p",
			  info.dli_fname, got, mc);
	cr_expect_eq(next_find("cgproc_no_such_symbol"), NEXT_UNKNOWN_PTR);
	cr_expect_eq(next_find("open"), dlsym(RTLD_NEXT, "open"));
}

/* The Bloom check: libcriterion (between this program and libc) defines its own names. */
Test(next, check_sees_objects_before_libc, .init = init)
{
	static const char theirs[] = "criterion_run_all_tests";

	cr_expect_gt(next_check(theirs, 1), 0,
		     "a name of an object before libc passes its Bloom filter");
}

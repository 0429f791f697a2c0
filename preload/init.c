/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcgproc.so start-up: resolve the next symbols, read the configuration, publish "ready".
 *
 * The constructor may run after other libraries' constructors have already called open() or
 * sysconf() (ELF init order): until shim_ready is set every wrapper passes through with raw
 * system calls. dlsym() is called only here, only for symbols that exist (a failed dlsym
 * allocates; see research/interposition.md 4.1), and never from a wrapper.
 *
 * Symbol versions: dlsym is bound to dlsym@GLIBC_2.2.5 (the compat version that glibc >= 2.34
 * still exports) instead of the default dlsym@GLIBC_2.34, so the shim loads on older glibc too.
 * It is a weak reference: on glibc < 2.34 without libdl loaded it is NULL and the shim stays a
 * pure passthrough instead of stopping every program from starting.
 *
 * Configuration: /etc/cgproc.conf only when root-owned and not group/world-writable; CGPROC_*
 * via secure_getenv and only when not AT_SECURE. Logging only when not AT_SECURE, to a file.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/stat.h>

#include "model/buf.h"
#include "model/config.h"
#include "raw.h"
#include "shim.h"

extern void *dlsym(void *handle, const char *name) __attribute__((weak));
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
/* In libc.so.6 since 2.2.5 (a forwarder to libpthread before 2.34): no new dependency. */
/* Not under ASan (tools/run-sanitizers): its runtime defines an unversioned
 * pthread_setcancelstate, and ld 2.40 then drops the versioned reference (a PLT entry without a
 * relocation: the first call jumps into zeros). */
#ifndef __SANITIZE_ADDRESS__
__asm__(".symver pthread_setcancelstate,pthread_setcancelstate@GLIBC_2.2.5");
#endif
#define SHIM_RTLD_NEXT ((void *)-1L)

int (*real_open)(const char *, int, ...);
int (*real_open64)(const char *, int, ...);
int (*real_openat)(int, const char *, int, ...);
int (*real_openat64)(int, const char *, int, ...);
int (*real_open_2)(const char *, int);
int (*real_open64_2)(const char *, int);
int (*real_openat_2)(int, const char *, int);
int (*real_openat64_2)(int, const char *, int);
FILE *(*real_fopen)(const char *, const char *);
FILE *(*real_fopen64)(const char *, const char *);
FILE *(*real_freopen)(const char *, const char *, FILE *);
FILE *(*real_freopen64)(const char *, const char *, FILE *);
off_t (*real_lseek)(int, off_t, int);
off_t (*real_lseek64)(int, off_t, int);
ssize_t (*real_pread)(int, void *, size_t, off_t);
ssize_t (*real_pread64)(int, void *, size_t, off_t);
ssize_t (*real_pread_chk)(int, void *, size_t, off_t, size_t);
ssize_t (*real_pread64_chk)(int, void *, size_t, off_t, size_t);
void (*real_rewind)(FILE *);
int (*real_fseek)(FILE *, long, int);
int (*real_fseeko)(FILE *, off_t, int);
int (*real_fseeko64)(FILE *, off_t, int);
int (*real_sysinfo)(struct sysinfo *);
long (*real_sysconf)(int);
int (*real_get_nprocs)(void);
int (*real_get_nprocs_conf)(void);
long (*real_get_phys_pages)(void);
long (*real_get_avphys_pages)(void);
int (*real_getloadavg)(double *, int);

__thread int shim_busy __attribute__((tls_model("initial-exec")));
atomic_bool shim_ready;
struct cgproc_config shim_config;
bool shim_secure;

#define RESOLVE(ptr, name)                                                                         \
	do {                                                                                       \
		void *_p = dlsym(SHIM_RTLD_NEXT, name);                                            \
		memcpy(&(ptr), &_p, sizeof(_p));                                                   \
	} while (0)

static void resolve_all(void)
{
	if (!dlsym)
		return;
	RESOLVE(real_open, "open");
	RESOLVE(real_open64, "open64");
	RESOLVE(real_openat, "openat");
	RESOLVE(real_openat64, "openat64");
	RESOLVE(real_open_2, "__open_2");
	RESOLVE(real_open64_2, "__open64_2");
	RESOLVE(real_openat_2, "__openat_2");
	RESOLVE(real_openat64_2, "__openat64_2");
	RESOLVE(real_fopen, "fopen");
	RESOLVE(real_fopen64, "fopen64");
	RESOLVE(real_freopen, "freopen");
	RESOLVE(real_freopen64, "freopen64");
	RESOLVE(real_lseek, "lseek");
	RESOLVE(real_lseek64, "lseek64");
	RESOLVE(real_pread, "pread");
	RESOLVE(real_pread64, "pread64");
	RESOLVE(real_pread_chk, "__pread_chk");
	RESOLVE(real_pread64_chk, "__pread64_chk");
	RESOLVE(real_rewind, "rewind");
	RESOLVE(real_fseek, "fseek");
	RESOLVE(real_fseeko, "fseeko");
	RESOLVE(real_fseeko64, "fseeko64");
	RESOLVE(real_sysinfo, "sysinfo");
	RESOLVE(real_sysconf, "sysconf");
	RESOLVE(real_get_nprocs, "get_nprocs");
	RESOLVE(real_get_nprocs_conf, "get_nprocs_conf");
	RESOLVE(real_get_phys_pages, "get_phys_pages");
	RESOLVE(real_get_avphys_pages, "get_avphys_pages");
	RESOLVE(real_getloadavg, "getloadavg");
}

/* The file is trusted only when root owns it and nobody else can write it. Read into pages
 * mapped for it and given back afterwards: not .bss, that would keep them in every process. */
#define CONF_TEXT_MAX 16384
static void config_read_file(struct cgproc_config *cfg)
{
	struct stat st;
	char *text;
	ssize_t n;
	int fd;

	fd = raw_openat(AT_FDCWD, CGPROC_CONF_PATH, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (raw_fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		raw_close(fd);
		return;
	}
	text = raw_mmap(CONF_TEXT_MAX);
	if (!text) {
		raw_close(fd);
		return;
	}
	n = raw_read(fd, text, CONF_TEXT_MAX);
	raw_close(fd);
	if (n > 0)
		config_apply_text(cfg, (struct span){text, (size_t)n});
	raw_munmap(text, CONF_TEXT_MAX);
}

static void config_read_env(struct cgproc_config *cfg)
{
	static const char *const keys[] = {"ENABLED", "CPU_VIEW", "FILES",   "MACHINE",
					   "RUNDIR",  "LOG",	  "REUSE_MS"};
	char name[32] = "CGPROC_";

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v;

		strcpy(name + 7, keys[i]);
		v = secure_getenv(name);
		if (v)
			config_apply(cfg, (struct span){keys[i], strlen(keys[i])},
				     (struct span){v, strlen(v)});
	}
}

/* "files=" names are vfile_table's; a bad list keeps everything on. */
static void config_resolve_files(struct cgproc_config *cfg)
{
	const char *names[_VFILE_MAX] = {0};

	vfile_foreach (vf) {
		if ((unsigned)vf->id < _VFILE_MAX)
			names[vf->id] = vf->name;
	}
	config_files_resolve(cfg, names, _VFILE_MAX);
}

/*
 * For the rare call that reaches a wrapper before the constructor and cannot be answered with
 * system calls (sysconf() keys other than the handful libc.c computes): the next definition,
 * looked up on the spot. Another library's constructor is the usual caller (ELF init order):
 * allocators and sanitizer runtimes size things with sysconf() there (ASan: _SC_SIGSTKSZ).
 * dlsym of a symbol that exists allocates nothing (research/interposition.md 4.1).
 */
void *shim_next_early(const char *name)
{
	return dlsym ? dlsym(SHIM_RTLD_NEXT, name) : NULL;
}

__attribute__((constructor)) static void shim_init(void)
{
	int saved = errno;

	shim_busy++;
	resolve_all();
	shim_secure = getauxval(AT_SECURE) != 0;
	config_defaults(&shim_config);
	config_read_file(&shim_config);
	if (!shim_secure)
		config_read_env(&shim_config);
	else
		shim_config.log[0] = '\0';
	config_resolve_files(&shim_config);
	shim_kept_init();
	/* Without the next symbols there is nothing to fall back to: stay a passthrough. */
	if (!real_openat || !real_open || !real_fopen || !real_sysconf)
		shim_config.enabled = false;
	shim_busy--;
	atomic_store_explicit(&shim_ready, true, memory_order_release);
	errno = saved;
}

void shim_enter(struct shim_guard *g)
{
	g->err = errno;
	if (pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &g->cancel) != 0)
		g->cancel = -1;
	shim_busy++;
}

void shim_leave(const struct shim_guard *g)
{
	int dummy;

	shim_busy--;
	if (g->cancel >= 0)
		pthread_setcancelstate(g->cancel, &dummy);
	errno = g->err;
}

bool shim_stack_ok(void)
{
	stack_t ss;

	if (RAW3(SYS_sigaltstack, NULL, &ss, 0) < 0)
		return true;
	return !(ss.ss_flags & SS_ONSTACK);
}

void shim_log(const char *what, const char *detail, long value)
{
	char line[512];
	struct buf b;
	int fd;

	if (!shim_config.log[0] || shim_secure)
		return;
	buf_init(&b, line, sizeof(line) - 1);
	buf_puts(&b, "cgproc[");
	buf_put_u64(&b, (uint64_t)raw_getpid());
	buf_puts(&b, "]: ");
	buf_puts(&b, what);
	if (detail) {
		buf_putc(&b, ' ');
		buf_puts(&b, detail);
	}
	buf_puts(&b, value < 0 ? " -" : " ");
	buf_put_u64(&b, (uint64_t)(value < 0 ? -value : value));
	buf_putc(&b, '\n');
	fd = raw_openat(AT_FDCWD, shim_config.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	(void)raw_write(fd, line, b.len);
	raw_close(fd);
}

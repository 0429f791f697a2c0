/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcgproc.so start-up: note where the next symbols are, publish "ready"; read the
 * configuration on first use.
 *
 * Start-up is kept to what every process pays for (process start must stay within 5% of an empty
 * preloaded library): the constructor only walks the loaded objects (next.c); each wrapped name
 * is looked up on its first use with a lock-free hash lookup, and the configuration and the
 * kept caches are set up by the first call that may take the virtual path (shim_setup,
 * request.c). What the constructor writes is in .data and its code next to the PLT (next.h).
 *
 * The constructor may run after other libraries' constructors have already called open() or
 * sysconf() (ELF init order): until shim_ready is set every wrapper passes through with raw
 * system calls. dlsym() is called only in the constructor, and only when next.c cannot decide
 * (an object between the shim and libc may define a wrapped name, the shim was dlopen()ed, not
 * glibc), never from a wrapper (it takes the loader's lock; a failed dlsym allocates:
 * research/interposition.md 4.1).
 *
 * Symbol versions: dlsym is bound to dlsym@GLIBC_2.2.5 (the compat version that glibc >= 2.34
 * still exports) instead of the default dlsym@GLIBC_2.34, so the shim loads on older glibc too.
 * It is a weak reference: on glibc < 2.34 without libdl loaded it is NULL, and what next.c cannot
 * decide is taken as absent (the wrappers' system-call paths) instead of stopping every program
 * from starting.
 *
 * Configuration: /etc/cgproc.conf only when root-owned and not group/world-writable; the CGPROC_*
 * entries of the environment the process started with (noted by the constructor), only when not
 * AT_SECURE. Logging only when not AT_SECURE, to a file.
 *
 * Owns the next-symbol table, the constructor's words (.data.shim_boot) and shim.config, .secure
 * and .setup_state (state.h); defines `shim`. Also the helpers every file uses: the stack check
 * and the debug log. Must not: do I/O in the constructor, or call dlsym() from a wrapper.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/stat.h>

#include "model/buf.h"
#include "model/config.h"
#include "model/macro.h"
#include "next.h"
#include "raw.h"
#include "shim.h"

extern void *dlsym(void *handle, const char *name) __attribute__((weak));
#ifdef __GLIBC__
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
#endif
#define SHIM_RTLD_NEXT ((void *)-1L)

/* The next definitions (shim.h): NULL until looked up, SHIM_NEXT_NONE when there is none. */
void *shim_next[SHIM_NEXT_MAX] NEXT_BOOT;

__thread int shim_busy __attribute__((tls_model("initial-exec")));
atomic_bool shim_ready NEXT_BOOT;
/* Everything else the shim keeps (state.h). */
struct shim_state shim;

/* The wrapped names, in the order of enum shim_next_id (one string: no pointer to relocate per
 * name). Not const: .rodata would be one more page touched at start-up. */
static char next_names[] NEXT_BOOT = "open\0open64\0openat\0openat64\0"
				     "__open_2\0__open64_2\0__openat_2\0__openat64_2\0"
				     "fopen\0fopen64\0freopen\0freopen64\0"
				     "lseek\0lseek64\0pread\0pread64\0__pread_chk\0__pread64_chk\0"
				     "rewind\0fseek\0fseeko\0fseeko64\0"
				     "sysinfo\0sysconf\0get_nprocs\0get_nprocs_conf\0"
				     "get_phys_pages\0get_avphys_pages\0getloadavg\0"
				     "readdir\0readdir64\0scandir\0scandir64\0"
				     "glob\0glob64\0nftw\0nftw64\0ftw\0ftw64";
/* set by the constructor: the names are looked up on first use (next_find) */
static bool next_lazy NEXT_BOOT;

/* No libc call (a first use from a wrapper: no lazy-binding fixup on its way). */
static const char *next_name(unsigned id)
{
	const char *name = next_names;

	while (id--) {
		while (*name)
			name++;
		name++;
	}
	return name;
}

/*
 * The next symbols. Usually (next_check: no object between the shim and libc may define one of
 * the names) only a note of the loaded objects, and each name is looked up on its first use
 * (shim_next_slow). Otherwise, or where next.c does not apply, all at once here, with dlsym()
 * for what next.c cannot decide: the constructor is the one place dlsym() is safe to call.
 */
SHIM_STARTUP static void resolve_all(void)
{
	bool known = next_init() == 0;
	int saved;

	if (known && next_check(next_names, SHIM_NEXT_MAX) == 0) {
		next_lazy = true;
		return;
	}
	saved = errno;
	for (unsigned k = 0; k < SHIM_NEXT_MAX; k++) {
		const char *name = next_name(k);
		void *p = known ? next_find(name) : NEXT_UNKNOWN_PTR;

		if (p == NEXT_UNKNOWN_PTR)
			p = dlsym ? dlsym(SHIM_RTLD_NEXT, name) : NULL;
		shim_next[k] = p ? p : SHIM_NEXT_NONE;
	}
	errno = saved;
}

/*
 * Whether a first use of @id may call dlsym() (the loader's lock): only for the functions that
 * are not async-signal-safe themselves (stdio, sysconf and friends: a caller in a signal handler
 * is outside their contract already). The open family, lseek and pread stay lock-free: for them
 * an undecided name is taken as absent and the wrappers use system calls.
 */
static bool next_may_dlsym(unsigned id)
{
	return (id >= SHIM_NEXT_FOPEN && id <= SHIM_NEXT_FREOPEN64) || id >= SHIM_NEXT_REWIND;
}

/*
 * First use of a next symbol after the constructor: looked up (next.c: no lock, no allocation,
 * no libc call, so from any context) and kept. Before the constructor: NULL, not kept (the
 * wrappers then use system calls). With next_check() passed only libc can define the name; a
 * name next.c cannot decide there (two visible versions, an IFUNC: no x86-64 glibc has either
 * for these names, tests/unit/test-next.c, but other ABIs have compat versions of fopen) goes to
 * dlsym() where next_may_dlsym() allows it.
 */
void *shim_next_slow(unsigned id)
{
	void *p;

	if (id >= SHIM_NEXT_MAX || !atomic_load_explicit(&shim_ready, memory_order_acquire))
		return NULL;
	p = shim_next[id];
	if (!p && next_lazy) {
		p = next_find(next_name(id));
		if (p == NEXT_UNKNOWN_PTR) {
			int saved = errno;

			p = next_may_dlsym(id) && dlsym ? dlsym(SHIM_RTLD_NEXT, next_name(id))
							: NULL;
			errno = saved;
		}
		p = p ? p : SHIM_NEXT_NONE;
		__atomic_store_n(&shim_next[id], p, __ATOMIC_RELAXED);
	}
	return p;
}

/* The file is trusted under the one rule of model/config.h (config_file_trusted). Read into pages
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
	if (raw_fstat(fd, &st) < 0 || !config_file_trusted(st.st_uid, st.st_mode)) {
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

/*
 * The CGPROC_* entries of the environment as the process started, noted by the constructor (the
 * configuration itself is read later, on first use): a program that changes its environment
 * before its first call (clearenv(), a shell's unset) keeps the configuration it was started
 * with, as when the constructor read it all, and the first use may be in a signal handler, where
 * a scan of an environment setenv() is rewriting is not safe. Not noted under AT_SECURE. The
 * strings stay: glibc never frees the environment's strings (its own setenv() ones neither).
 */
#define ENV_NOTE_MAX 16
static const char *env_note[ENV_NOTE_MAX] NEXT_BOOT;
static unsigned env_notes NEXT_BOOT;
static bool env_secure NEXT_BOOT;

SHIM_STARTUP static void env_note_all(char **envp)
{
	env_secure = getauxval(AT_SECURE) != 0;
	if (env_secure)
		return;
	for (char **e = envp; e && *e && env_notes < ENV_NOTE_MAX; e++) {
		const char *v = *e;

		if (v[0] == 'C' && v[1] == 'G' && v[2] == 'P' && v[3] == 'R' && v[4] == 'O' &&
		    v[5] == 'C' && v[6] == '_')
			env_note[env_notes++] = v;
	}
}

static void config_read_env(struct cgproc_config *cfg)
{
	static const char *const keys[] = {"ENABLED", "CPU_VIEW", "FILES",   "MACHINE",
					   "RUNDIR",  "LOG",	  "REUSE_MS"};

	/* backwards: the first of two entries of one name wins, as with getenv() */
	for (unsigned n = env_notes; n-- > 0;) {
		const char *key = env_note[n] + 7, *eq = strchr(key, '=');

		if (!eq)
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
			size_t len = strlen(keys[i]);

			if ((size_t)(eq - key) == len && memcmp(key, keys[i], len) == 0)
				config_apply(cfg, (struct span){keys[i], len},
					     (struct span){eq + 1, strlen(eq + 1)});
		}
	}
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

/*
 * The configuration, on the first call that may take the virtual path (shim_active()), not in the
 * constructor: a program that never reaches a wrapper (most short-lived ones) pays nothing for it
 * (every process start pays for what runs there), and the pages it writes stay untouched.
 *
 * Once per process, from any context a wrapper runs in, without locks: the first caller claims the
 * set-up with a compare-and-swap (its thread id in the word) and publishes SHIM_SETUP_DONE. A call
 * that finds it under way in its own thread (a signal handler that interrupted it) passes through.
 * Other threads wait for it, a bounded time, with sched_yield(): it is a file read and a parse
 * of a few environment entries. A claim whose thread is gone (a fork() from another thread
 * while it ran: the child has only the forking thread) is taken over.
 */
#define SETUP_SPIN 20000

static void setup_run(void)
{
	struct cgproc_config *cfg = &shim.config;

	shim.secure = env_secure;
	config_defaults(cfg);
	config_read_file(cfg);
	if (!shim.secure)
		config_read_env(cfg);
	else
		cfg->log[0] = '\0';
	(void)vfile_config_resolve(cfg); /* a bad "files=" list keeps everything on */
	/* Without the next symbols there is nothing to fall back to: stay a passthrough. */
	if (!real_openat || !real_open || !real_fopen || !real_sysconf)
		cfg->enabled = false;
}

bool shim_setup(void)
{
	int tid = (int)RAW0(SYS_gettid);

	for (int spin = 0; spin < SETUP_SPIN; spin++) {
		int s = atomic_load_explicit(&shim.setup_state, memory_order_acquire);

		if (s == SHIM_SETUP_DONE)
			return true;
		if (s == tid)
			return false; /* re-entered (a signal handler) while setting up */
		if (s == 0 || RAW3(SYS_tgkill, raw_getpid(), s, 0) == -ESRCH) {
			int saved = errno;

			if (!atomic_compare_exchange_strong(&shim.setup_state, &s, tid))
				continue;
			/* no shim_busy: a signal handler that interrupts this on our thread sees
			 * its own tid in the claim and passes through */
			setup_run();
			errno = saved;
			atomic_store_explicit(&shim.setup_state, SHIM_SETUP_DONE,
					      memory_order_release);
			return true;
		}
		RAW0(SYS_sched_yield);
	}
	return false;
}

/*
 * glibc calls constructors with (argc, argv, envp), envp being the environment as the program
 * started (or, under dlopen(), as it is then): the environment without an import of environ (a
 * symbol lookup at every start). Elsewhere environ.
 *
 * errno is left alone (dl_iterate_phdr and getauxval(AT_SECURE) do not set it; resolve_all()
 * keeps it around dlsym). The configuration is read on first use (shim_setup).
 */
#ifdef __GLIBC__
__attribute__((constructor)) SHIM_STARTUP static void shim_init(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
#else
extern char **environ;
__attribute__((constructor)) SHIM_STARTUP static void shim_init(void)
{
	char **envp = environ;
#endif
	resolve_all();
	env_note_all(envp);
	atomic_store_explicit(&shim_ready, true, memory_order_release);
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

	if (!shim.config.log[0] || shim.secure)
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
	fd = raw_openat(AT_FDCWD, shim.config.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	(void)raw_write(fd, line, b.len);
	raw_close(fd);
}

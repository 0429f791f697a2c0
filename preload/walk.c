/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * glob() and the file-tree walks (nftw, ftw and their 64 variants) over /sys/devices/system/cpu:
 * the cpuN entries of CPUs the machine does not see are left out, as readdir() leaves them out
 * (cpudir.c). Both libcs read directories inside glob and nftw with their own internal readdir,
 * which no preload sees: glibc's posix/glob.c and io/ftw.c call __readdir64 (a hidden alias),
 * musl's src/regex/glob.c and src/misc/nftw.c call readdir, bound inside libc.so (its dynamic
 * list exports no function for interposition), and musl's ftw() is its nftw(). So the calls are
 * wrapped as a whole:
 *   - glob: the real call, then the paths it added that lie in a hidden cpuN are taken out of
 *     gl_pathv (from gl_offs + the caller's earlier gl_pathc on, for GLOB_APPEND), the rest
 *     moved up, and the taken-out strings handed to the libc's own globfree() in a vector of
 *     their own (musl keeps them inside larger blocks: only its globfree knows how to free
 *     them). No path left: GLOB_NOMATCH, as for a pattern that matches nothing.
 *   - nftw/ftw: the caller's function is called through a filter that leaves out every path in
 *     a hidden cpuN subtree; where it can (glibc, not FTW_DEPTH) the hidden directory returns
 *     FTW_SKIP_SUBTREE and is never read (struct walk says why that matters). The callback has
 *     no user pointer: the walk's state is on the wrapper's stack, found through one
 *     thread-local pointer that a nested walk (from the callback, or a signal handler) saves
 *     and restores. A walk from a hidden cpuN fails with ENOENT, as opening it does.
 * A path is in a hidden cpuN when one of its components is "cpu<digit>..." naming a CPU the
 * machine does not see and the path up to it is the host's /sys/devices/system/cpu (one
 * fstatat per distinct parent per call). A walk that cannot get there by its text (an absolute
 * path that is neither above nor in the directory, not under /proc) calls the real function
 * directly; glob's added paths are scanned (a pass over bytes glob just wrote).
 *
 * Limits: a glibc walk with FTW_DEPTH that follows links (no FTW_PHYS) still reads a hidden
 * cpuN before its callbacks are left out, and may then leave out a visible CPU met through it
 * first (glibc's seen set); a walk that reaches the directory through a symbolic link named
 * otherwise is filtered when its path's parent is the directory (like readdir of that link); a
 * caller that longjmp()s out of a nested walk's callback into an outer walk's callback leaves the
 * pointer at a dead frame (glibc's nftw leaks its own directory streams there too). The wrappers
 * bind to the libc's default versions (glob@GLIBC_2.27, nftw@GLIBC_2.3.3), as a program built today
 * does.
 *
 * Must not: change errno on success, print, or call the caller's function with the shim busy.
 */
#include <ftw.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "model/cpusys.h"
#include "raw.h"
#include "shim.h"

#ifndef __GLIBC__
#undef glob64
#undef globfree64
#undef nftw64
#undef ftw64
#undef glob64_t
#define glob64_t glob_t
#define stat64 stat
#define GLOBFREE64 globfree
#else
#define GLOBFREE64 globfree64
#endif

#define PARENT_MAX 256

/* glob64_t is glob_t and struct stat64 is struct stat, in layout (see the end of the file). */
#if !defined(__GLIBC__) || __WORDSIZE == 64
#define WALK_64_SAME 1
#else
#define WALK_64_SAME 0
#endif

/* What one call learned: the parent last checked and the visible CPUs (looked up once). */
struct walk_view {
	int vis_state; /* 0: not looked up, 1: known, -1: unknown (nothing hidden) */
	bool parent_is;
	size_t parent_len; /* 0: none kept */
	char parent[PARENT_MAX];
	struct cpuset vis;
};

/* Under shim_enter(): whether @path[0, @len) (the parent of a cpuN component) is the host's CPU
 * directory. */
static bool parent_is_cpudir(struct walk_view *v, const char *path, size_t len)
{
	struct stat st;
	size_t n = len;

	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 0)
		path = ".", n = 1;
	if (n >= PARENT_MAX)
		return false;
	if (v->parent_len == n && memcmp(v->parent, path, n) == 0)
		return v->parent_is;
	memcpy(v->parent, path, n);
	v->parent[n] = '\0';
	v->parent_len = n;
	v->parent_is = raw_fstatat(AT_FDCWD, v->parent, &st, 0) == 0 && shim_cpudir_is(&st);
	return v->parent_is;
}

/* Under shim_enter(): whether @path lies in (or is) a cpuN entry the machine does not see. */
static bool path_hidden(struct walk_view *v, const char *path)
{
	const char *c = path;

	while (*c) {
		const char *end = strchrnul(c, '/');

		if (shim_cpu_named(c) && parent_is_cpudir(v, path, (size_t)(c - path))) {
			if (v->vis_state == 0)
				v->vis_state = shim_cpudir_visible(&v->vis) == 0 ? 1 : -1;
			if (v->vis_state > 0 &&
			    !cpudir_entry_visible((struct span){c, (size_t)(end - c)}, &v->vis))
				return true;
		}
		c = end;
		while (*c == '/')
			c++;
	}
	return false;
}

/* path_hidden() around the shim's guard: the shim's own calls pass through, errno is kept. */
static bool view_hides(struct walk_view *v, const char *path)
{
	struct shim_guard g;
	bool hidden;

	shim_enter(&g);
	hidden = path_hidden(v, path);
	shim_leave(&g);
	return hidden;
}

/* Whether a walk from @dir may meet /sys/devices/system/cpu's entries by path: relative, under
 * /proc (/proc/self/root/...), spelled with "." or "//", above or in the directory. */
static bool walk_may_reach(const char *dir)
{
	static const char cpudir[] = VFILE_CPU_DIR;
	size_t n;

	if (!dir || dir[0] != '/' || strncmp(dir, "/proc", 5) == 0 || strstr(dir, "/.") ||
	    strstr(dir, "//"))
		return dir != NULL;
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1)
		return true;
	if (n <= sizeof(cpudir) - 1)
		return memcmp(dir, cpudir, n) == 0 && (cpudir[n] == '/' || cpudir[n] == '\0');
	return memcmp(dir, cpudir, sizeof(cpudir) - 1) == 0 && dir[sizeof(cpudir) - 1] == '/';
}

/* Whether the wrappers may filter now (not in a nested shim call, configured on). */
static bool walk_active(void)
{
	return shim_active() && shim_stack_ok();
}

/*
 * glob() and glob64(): gl_pathv[gl_offs + @first ...] are what this call added. Hidden paths
 * are taken out (see the head comment); any failure keeps the real result.
 */
#define GLOB_FILTER(NAME, GLOB_T, FREE)                                                            \
	static int NAME(GLOB_T *g, size_t first, int flags, int r)                                 \
	{                                                                                          \
		struct walk_view v;                                                                \
		GLOB_T gone;                                                                       \
		size_t n = 0, kept, i;                                                             \
		int saved;                                                                         \
		char **p;                                                                          \
                                                                                                   \
		if (r != 0 || !g->gl_pathv || g->gl_pathc <= first || !walk_active())              \
			return r;                                                                  \
		v.vis_state = 0;                                                                   \
		v.parent_len = 0;                                                                  \
		p = g->gl_pathv + g->gl_offs;                                                      \
		for (i = first; i < g->gl_pathc; i++)                                              \
			n += p[i] && view_hides(&v, p[i]);                                         \
		if (n == 0 || ((flags & GLOB_NOCHECK) && n == g->gl_pathc - first))                \
			return r;                                                                  \
		memset(&gone, 0, sizeof(gone));                                                    \
		saved = errno;                                                                     \
		gone.gl_pathv = malloc((n + 1) * sizeof(char *));                                  \
		if (!gone.gl_pathv) {                                                              \
			errno = saved;                                                             \
			return r;                                                                  \
		}                                                                                  \
		kept = first;                                                                      \
		for (i = first; i < g->gl_pathc; i++) {                                            \
			if (p[i] && view_hides(&v, p[i]))                                          \
				gone.gl_pathv[gone.gl_pathc++] = p[i];                             \
			else                                                                       \
				p[kept++] = p[i];                                                  \
		}                                                                                  \
		gone.gl_pathv[gone.gl_pathc] = NULL;                                               \
		for (i = kept; i < g->gl_pathc; i++)                                               \
			p[i] = NULL;                                                               \
		g->gl_pathc = kept;                                                                \
		FREE(&gone);                                                                       \
		errno = saved;                                                                     \
		return kept == first ? GLOB_NOMATCH : 0;                                           \
	}

GLOB_FILTER(glob_filter, glob_t, globfree)
#if !WALK_64_SAME
GLOB_FILTER(glob64_filter, glob64_t, GLOBFREE64)
#endif

#define GLOB_WRAPPER(NAME, GLOB_T, REAL, FILTER)                                                   \
	SHIM_EXPORT int NAME(const char *pattern, int flags, int (*err)(const char *, int),        \
			     GLOB_T *g)                                                            \
	{                                                                                          \
		__typeof__(REAL) next;                                                             \
		size_t first = (flags & GLOB_APPEND) && g ? g->gl_pathc : 0;                       \
                                                                                                   \
		NEXT_OR_EARLY(next, REAL, #NAME, GLOB_ABORTED);                                    \
		return FILTER(g, first, flags, next(pattern, flags, err, g));                      \
	}

GLOB_WRAPPER(glob, glob_t, real_glob, glob_filter)
#if !WALK_64_SAME
GLOB_WRAPPER(glob64, glob64_t, real_glob64, glob64_filter)
#endif

/*
 * The walk in progress on this thread (nftw, ftw and their 64 variants). Where the libc has
 * FTW_ACTIONRETVAL (glibc) and the walk is not depth-first, the real nftw is called with it, so
 * that a hidden cpuN directory is skipped before it is read: a walk that follows symbolic links
 * marks every directory it enters as seen, and cpuN/subsystem/devices/ leads to the visible
 * CPUs, which it would then leave out where they come later. The caller's own return values are
 * kept: without FTW_ACTIONRETVAL of the caller's, a non-zero one stops the walk (FTW_STOP) and
 * is what the call returns. ftw() is glibc's nftw() with flags 0 and its types mapped (FTW_SL to
 * FTW_F, FTW_DP to FTW_D, FTW_SLN to FTW_NS: glibc's io/ftw.c ftw_arr), so it goes through
 * nftw() the same way; musl's ftw() does not follow links (musl's nftw keeps no seen set).
 */
struct walk {
	struct walk_view view;
	bool skip;     /* FTW_SKIP_SUBTREE can be returned */
	bool own_stop; /* FTW_ACTIONRETVAL was added: the caller's non-zero return is kept here */
	bool ftw;      /* an ftw() call through nftw(): map the types */
	bool stopped;
	int stop;
	union {
		int (*nftw)(const char *, const struct stat *, int, struct FTW *);
		int (*nftw64)(const char *, const struct stat64 *, int, struct FTW *);
		int (*ftw)(const char *, const struct stat *, int);
		int (*ftw64)(const char *, const struct stat64 *, int);
	} fn;
};
static __thread struct walk *walk_cur __attribute__((tls_model("initial-exec")));

#ifdef FTW_ACTIONRETVAL
#define WALK_RETVAL FTW_ACTIONRETVAL
#else
#define WALK_RETVAL 0
#endif

/* The flags the real nftw gets for the caller's @flags; sets up @w's return handling. */
static int walk_flags(struct walk *w, int flags)
{
	w->skip = WALK_RETVAL != 0 && !(flags & FTW_DEPTH);
	w->own_stop = w->skip && !(flags & WALK_RETVAL);
	return w->skip ? flags | WALK_RETVAL : flags;
}

/* Before the caller's function: 1 when @path is hidden (*ret: what to return instead). */
static int walk_pre(struct walk *w, const char *path, int type, int *ret)
{
	if (!view_hides(&w->view, path))
		return 0;
#ifdef FTW_ACTIONRETVAL
	*ret = w->skip && type == FTW_D ? FTW_SKIP_SUBTREE : 0;
#else
	(void)type;
	*ret = 0;
#endif
	return 1;
}

/* After the caller's function returned @r. */
static int walk_post(struct walk *w, int r)
{
#ifdef FTW_ACTIONRETVAL
	if (w->own_stop && r != 0) {
		w->stopped = true;
		w->stop = r;
		return FTW_STOP;
	}
#else
	(void)w;
#endif
	return r;
}

/* An nftw() type as ftw() reports it. */
static int ftw_type(int type)
{
	return type == FTW_SL ? FTW_F : type == FTW_DP ? FTW_D : type == FTW_SLN ? FTW_NS : type;
}

#define NFTW_FILTER(NAME, STAT)                                                                    \
	static int NAME(const char *path, const struct STAT *st, int type, struct FTW *f)          \
	{                                                                                          \
		struct walk *w = walk_cur;                                                         \
		int r;                                                                             \
                                                                                                   \
		if (walk_pre(w, path, type, &r))                                                   \
			return r;                                                                  \
		if (w->ftw)                                                                        \
			r = w->fn.NAME##_ftw(path, st, ftw_type(type));                            \
		else                                                                               \
			r = w->fn.NAME##_nftw(path, st, type, f);                                  \
		return walk_post(w, r);                                                            \
	}

#define nftw_filter_ftw ftw
#define nftw_filter_nftw nftw
#define nftw64_filter_ftw ftw64
#define nftw64_filter_nftw nftw64
NFTW_FILTER(nftw_filter, stat)
#if !WALK_64_SAME
NFTW_FILTER(nftw64_filter, stat64)
#endif

/* A walk from @dir: -1 with ENOENT when @dir itself is hidden, 1 to walk through the filter
 * (@w set up), 0 to call the real function as it was called. */
static int walk_begin(struct walk *w, const char *dir)
{
	if (!walk_may_reach(dir) || !walk_active())
		return 0;
	w->skip = w->own_stop = w->ftw = w->stopped = false;
	w->stop = 0;
	w->view.vis_state = 0;
	w->view.parent_len = 0;
	if (view_hides(&w->view, dir)) {
		errno = ENOENT;
		return -1;
	}
	return 1;
}

/* The real nftw (or nftw64) through the filter, with @w this thread's walk meanwhile. */
#define WALK_RUN(w, next, dir, filter, nopenfd, flags)                                             \
	__extension__({                                                                            \
		struct walk *prev_ = walk_cur;                                                     \
		int r_;                                                                            \
                                                                                                   \
		walk_cur = (w);                                                                    \
		r_ = next(dir, filter, nopenfd, walk_flags((w), flags));                           \
		walk_cur = prev_;                                                                  \
		(w)->stopped &&r_ == FTW_STOP_VALUE ? (w)->stop : r_;                              \
	})

#ifdef FTW_ACTIONRETVAL
#define FTW_STOP_VALUE FTW_STOP
#else
#define FTW_STOP_VALUE 1
#endif

typedef int (*nftw_fn)(const char *, const struct stat *, int, struct FTW *);
typedef int (*nftw64_fn)(const char *, const struct stat64 *, int, struct FTW *);
typedef int (*ftw_fn)(const char *, const struct stat *, int);
typedef int (*ftw64_fn)(const char *, const struct stat64 *, int);

/* The next @NAME into @next (none: ENOSYS), then walk_begin(): the wrapper returns -1 (ENOENT)
 * or @CALL_REAL unless the walk goes through the filter. */
#define WALK_BEGIN(next, REAL, NAME, w, dir, CALL_REAL)                                            \
	do {                                                                                       \
		int r_;                                                                            \
                                                                                                   \
		NEXT_OR_EARLY(next, REAL, NAME, -1);                                               \
		r_ = walk_begin(w, dir);                                                           \
		if (r_ <= 0)                                                                       \
			return r_ < 0 ? -1 : CALL_REAL;                                            \
	} while (0)

#define NFTW_WRAPPER(NAME, FN_T, REAL, FILTER)                                                     \
	SHIM_EXPORT int NAME(const char *dir, FN_T fn, int nopenfd, int flags)                     \
	{                                                                                          \
		__typeof__(REAL) next;                                                             \
		struct walk w;                                                                     \
                                                                                                   \
		WALK_BEGIN(next, REAL, #NAME, &w, dir, next(dir, fn, nopenfd, flags));             \
		w.fn.NAME = fn;                                                                    \
		return WALK_RUN(&w, next, dir, FILTER, nopenfd, flags);                            \
	}

NFTW_WRAPPER(nftw, nftw_fn, real_nftw, nftw_filter)
#if !WALK_64_SAME
NFTW_WRAPPER(nftw64, nftw64_fn, real_nftw64, nftw64_filter)
#endif

/* ftw() and ftw64(): glibc's through its nftw (see struct walk), musl's through its own ftw and a
 * filter that only leaves the hidden paths out. */
#ifdef FTW_ACTIONRETVAL
#define FTW_WRAPPER(NAME, FN_T, REAL, NFTW_REAL, FILTER)                                           \
	SHIM_EXPORT int NAME(const char *dir, FN_T fn, int nopenfd)                                \
	{                                                                                          \
		__typeof__(NFTW_REAL) nnext;                                                       \
		__typeof__(REAL) next;                                                             \
		struct walk w;                                                                     \
                                                                                                   \
		WALK_BEGIN(next, REAL, #NAME, &w, dir, next(dir, fn, nopenfd));                    \
		nnext = NFTW_REAL;                                                                 \
		if (!nnext)                                                                        \
			return next(dir, fn, nopenfd);                                             \
		w.fn.NAME = fn;                                                                    \
		w.ftw = true;                                                                      \
		return WALK_RUN(&w, nnext, dir, FILTER, nopenfd, 0);                               \
	}
#else
#define FTW_WRAPPER(NAME, FN_T, REAL, NFTW_REAL, FILTER)                                           \
	static int NAME##_filter(const char *path, const struct stat *st, int type)                \
	{                                                                                          \
		struct walk *w = walk_cur;                                                         \
		int r;                                                                             \
                                                                                                   \
		return walk_pre(w, path, type, &r) ? r : w->fn.NAME(path, st, type);               \
	}                                                                                          \
	SHIM_EXPORT int NAME(const char *dir, FN_T fn, int nopenfd)                                \
	{                                                                                          \
		__typeof__(REAL) next;                                                             \
		struct walk w, *prev;                                                              \
		int r;                                                                             \
                                                                                                   \
		WALK_BEGIN(next, REAL, #NAME, &w, dir, next(dir, fn, nopenfd));                    \
		w.fn.NAME = fn;                                                                    \
		prev = walk_cur;                                                                   \
		walk_cur = &w;                                                                     \
		r = next(dir, NAME##_filter, nopenfd);                                             \
		walk_cur = prev;                                                                   \
		return r;                                                                          \
	}
#endif

FTW_WRAPPER(ftw, ftw_fn, real_ftw, real_nftw, nftw_filter)
#if !WALK_64_SAME
FTW_WRAPPER(ftw64, ftw64_fn, real_ftw64, real_nftw64, nftw64_filter)
#else
/*
 * Where glob_t and glob64_t, struct stat and struct stat64 are one layout (64-bit glibc, where
 * glob64, nftw64 and ftw64 are aliases of the plain functions in libc, and musl), the 64 names
 * are the plain wrappers: no second copy of the code in every process's text.
 */
/* Hidden names of the plain wrappers: a call from the shim to itself never goes through its PLT. */
#if defined(__has_attribute) && __has_attribute(copy)
#define WALK_COPY(f)                                                                               \
	__attribute__((copy(f))) /* glibc's nothrow: an alias as strict as its target */
#else
#define WALK_COPY(f)
#endif
extern __typeof__(glob) walk_glob __attribute__((alias("glob"), visibility("hidden")))
WALK_COPY(glob);
extern __typeof__(nftw) walk_nftw __attribute__((alias("nftw"), visibility("hidden")))
WALK_COPY(nftw);
extern __typeof__(ftw) walk_ftw __attribute__((alias("ftw"), visibility("hidden"))) WALK_COPY(ftw);

SHIM_EXPORT int glob64(const char *pattern, int flags, int (*err)(const char *, int), glob64_t *g)
{
	return walk_glob(pattern, flags, err, (glob_t *)g);
}

SHIM_EXPORT int nftw64(const char *dir, nftw64_fn fn, int nopenfd, int flags)
{
	return walk_nftw(dir, (nftw_fn)(void (*)(void))fn, nopenfd, flags);
}

SHIM_EXPORT int ftw64(const char *dir, ftw64_fn fn, int nopenfd)
{
	return walk_ftw(dir, (ftw_fn)(void (*)(void))fn, nopenfd);
}
#endif

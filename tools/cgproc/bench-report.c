/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgproc bench, the report: robust statistics over rounds, the targets with PASS/FAIL, the table
 * a person reads at a glance, the same numbers as JSON, and a per-file bar chart via gnuplot.
 * Nothing here measures; it only formats what bench.c collected.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgproc-config.h"
#include "bench.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Linear interpolation between closest ranks; @v sorted. */
static double quantile(const double *v, int n, double q)
{
	double pos = q * (n - 1);
	int lo = (int)pos;

	if (lo >= n - 1)
		return v[n - 1];
	return v[lo] + (pos - lo) * (v[lo + 1] - v[lo]);
}

void stat_summarize(const double *v, int n, struct stat_summary *ret)
{
	double *s, *dev;

	memset(ret, 0, sizeof(*ret));
	if (n <= 0) {
		snprintf(ret->reason, sizeof(ret->reason), "no samples");
		return;
	}
	s = malloc(sizeof(double) * (size_t)n * 2);
	if (!s) {
		snprintf(ret->reason, sizeof(ret->reason), "out of memory");
		return;
	}
	dev = s + n;
	memcpy(s, v, sizeof(double) * (size_t)n);
	qsort(s, (size_t)n, sizeof(double), cmp_double);
	ret->median = quantile(s, n, 0.5);
	ret->p10 = quantile(s, n, 0.1);
	ret->p90 = quantile(s, n, 0.9);
	for (int i = 0; i < n; i++)
		dev[i] = fabs(s[i] - ret->median);
	qsort(dev, (size_t)n, sizeof(double), cmp_double);
	ret->mad = quantile(dev, n, 0.5);
	ret->ok = ret->median > 0;
	if (!ret->ok)
		snprintf(ret->reason, sizeof(ret->reason), "measured zero");
	free(s);
}

/* ratio a/b of two medians, NAN when either is missing */
static double ratio(const struct cell *a, const struct cell *b)
{
	if (!bench_cell_have(a) || !bench_cell_have(b))
		return NAN;
	return a->s.median / b->s.median;
}

/* shim / empty library for exec: the paired estimator's median when it ran, else the ratio of
 * the two columns' medians. */
static double exec_ratio(const struct bench *b)
{
	const struct cell *p = &b->exec.c[EXEC_PAIRED];

	return bench_cell_have(p) ? p->s.median : ratio(&b->exec.c[2], &b->exec.c[1]);
}

static void target_set(struct target *t, const char *name, const char *rule, double value,
		       double limit, bool lower_is_better)
{
	t->name = name;
	t->rule = rule;
	t->value = value;
	t->limit = limit;
	t->measured = !isnan(value);
	t->pass = t->measured && (lower_is_better ? value <= limit : value >= limit);
}

/* Per-file targets are judged on the worst file. */
static void target_files(const struct bench *b, struct target *t, const char *name,
			 const char *rule, int num, int den, double limit, bool lower_is_better)
{
	double worst = NAN;
	const char *which = NULL;
	int missing = 0;

	for (int i = 0; i < b->nfiles; i++) {
		double r = ratio(&b->files[i].c[num], &b->files[i].c[den]);

		if (isnan(r)) {
			missing++;
			continue;
		}
		if (isnan(worst) || (lower_is_better ? r > worst : r < worst)) {
			worst = r;
			which = b->files[i].name;
		}
	}
	target_set(t, name, rule, worst, limit, lower_is_better);
	if (which)
		snprintf(t->detail, sizeof(t->detail), "worst: %s %.2fx%s", which, worst,
			 missing ? " (some files n/a)" : "");
}

void bench_targets(struct bench *b)
{
	struct target *t = b->targets;
	double v;

	memset(b->targets, 0, sizeof(b->targets));
	target_files(b, t++, "shim_vs_native", "shim <= 2x native", V_SHIM, V_NATIVE, 2.0, true);
	target_files(b, t++, "shim_vs_lxcfs", "shim >= 15x faster than lxcfs", V_LXCFS, V_SHIM,
		     15.0, false);
	target_files(b, t++, "cgprocfs_vs_lxcfs", "cgprocfs >= 2x faster than lxcfs", V_LXCFS,
		     V_FUSE, 2.0, false);
	v = ratio(&b->nonvirtual.c[V_SHIM], &b->nonvirtual.c[V_NATIVE]);
	target_set(t++, "nonvirtual_open", "non-virtual open within 5% of native", v, 1.05, true);
	/* the paired estimator when it ran (bench.h, EXEC_PAIRED), else the ratio of medians */
	v = exec_ratio(b);
	target_set(t, "exec", "exec within 5% of an empty preloaded library", v, 1.05, true);
	if (bench_cell_have(&b->exec.c[EXEC_PAIRED]))
		snprintf(t->detail, sizeof(t->detail),
			 "median of %d rounds of %ld A-B-B-A blocks, p10-p90 %.3f-%.3f",
			 b->exec.c[EXEC_PAIRED].n, b->exec_pairs / 2, b->exec.c[EXEC_PAIRED].s.p10,
			 b->exec.c[EXEC_PAIRED].s.p90);
	t++;
	v = b->rss.ok ? (double)(b->rss.rss_kb[1] - b->rss.rss_kb[0]) : NAN;
	target_set(t++, "rss", "RSS added per process <= 64 KiB", v, 64, true);
	b->ntargets = (int)(t - b->targets);
}

/* ---- table ---------------------------------------------------------------------------------- */

static const char *fmt_cell(const struct cell *c, char *out, size_t size)
{
	if (!bench_cell_have(c)) {
		snprintf(out, size, "n/a");
		return out;
	}
	/* spread: half the p10..p90 range, relative to the median */
	snprintf(out, size, "%.1f ±%.0f%%", c->s.median,
		 50.0 * (c->s.p90 - c->s.p10) / c->s.median);
	return out;
}

static const char *fmt_ratio(double r, double limit, bool lower_is_better, char *out, size_t size)
{
	if (isnan(r))
		snprintf(out, size, "n/a");
	else
		snprintf(out, size, "%.2fx %s", r,
			 (lower_is_better ? r <= limit : r >= limit) ? "PASS" : "FAIL");
	return out;
}

/* Right-align @s in @width terminal columns (printf counts bytes; "±" is two). */
static void col(FILE *f, const char *s, int width)
{
	int chars = 0;

	for (const char *p = s; *p; p++)
		chars += ((unsigned char)*p & 0xc0) != 0x80;
	fprintf(f, " %*s%s", width > chars ? width - chars : 0, "", s);
}

static const char *variant_label[_V_MAX] = {"native", "shim", "cgprocfs", "lxcfs"};

void bench_print_table(const struct bench *b, FILE *f)
{
	char c0[32], c1[32], c2[32], c3[32], r0[32], r1[32], r2[32];
	bool any_na = false;

	fprintf(f,
		"\ncgproc bench: open+read+close per call, us (median of %d rounds x %ld calls; "
		"± = half the p10..p90 spread)\n",
		b->rounds, b->iterations);
	fprintf(f, "workers in cgroup %s (512 MiB, cpuset 0); host: %u CPUs\n", b->cgroup,
		b->ncpus);
	if (b->reuse_ms == 0)
		fprintf(f, "shim reuse window off (reuse_ms 0): every open renders\n");
	else if (b->reuse_ms > 0)
		fprintf(f, "shim reuse window: %d ms\n", b->reuse_ms);
	fputc('\n', f);
	fprintf(f, "%-17s %13s %13s %10s %12s %13s %12s %13s\n", "file", "native", "shim",
		"shim/nat", "lxcfs/shim", "cgprocfs", "lxcfs/cgpfs", "lxcfs");
	fprintf(f, "%-17s %13s %13s %10s %12s %13s %12s %13s\n", "", "", "", "(<= 2)", "(>= 15)",
		"", "(>= 2)", "");
	for (int i = 0; i < b->nfiles; i++) {
		const struct row *r = &b->files[i];

		fprintf(f, "%-17s", r->name);
		col(f, fmt_cell(&r->c[V_NATIVE], c0, sizeof(c0)), 13);
		col(f, fmt_cell(&r->c[V_SHIM], c1, sizeof(c1)), 13);
		col(f, fmt_ratio(ratio(&r->c[V_SHIM], &r->c[V_NATIVE]), 2, true, r0, sizeof(r0)),
		    10);
		col(f, fmt_ratio(ratio(&r->c[V_LXCFS], &r->c[V_SHIM]), 15, false, r1, sizeof(r1)),
		    12);
		col(f, fmt_cell(&r->c[V_FUSE], c2, sizeof(c2)), 13);
		col(f, fmt_ratio(ratio(&r->c[V_LXCFS], &r->c[V_FUSE]), 2, false, r2, sizeof(r2)),
		    12);
		col(f, fmt_cell(&r->c[V_LXCFS], c3, sizeof(c3)), 13);
		fputc('\n', f);
		for (int v = 0; v < _V_MAX; v++)
			any_na |= !bench_cell_have(&r->c[v]);
	}
	if (any_na) {
		fprintf(f, "n/a:\n");
		for (int i = 0; i < b->nfiles; i++)
			for (int v = 0; v < _V_MAX; v++) {
				const struct cell *c = &b->files[i].c[v];

				if (bench_cell_have(c))
					continue;
				/* one line per distinct reason per variant */
				bool dup = false;

				for (int j = 0; j < i && !dup; j++)
					dup = !bench_cell_have(&b->files[j].c[v]) &&
					      strcmp(b->files[j].c[v].reason, c->reason) == 0;
				if (!dup)
					fprintf(f, "  %-8s %s\n", variant_label[v],
						c->active ? c->s.reason : c->reason);
			}
	}

	fprintf(f, "\n%-34s %13s %13s %10s\n", "libc calls, us per call", "native", "shim",
		"shim/nat");
	for (int i = 0; i < 3; i++) {
		const struct row *r = &b->libc[i];
		double x = ratio(&r->c[V_SHIM], &r->c[V_NATIVE]);

		if (isnan(x))
			snprintf(r0, sizeof(r0), "n/a");
		else
			snprintf(r0, sizeof(r0), "%.2fx", x);
		fprintf(f, "%-34s", r->name);
		col(f, fmt_cell(&r->c[V_NATIVE], c0, sizeof(c0)), 13);
		col(f, fmt_cell(&r->c[V_SHIM], c1, sizeof(c1)), 13);
		col(f, r0, 10);
		fputc('\n', f);
	}
	{
		const struct row *r = &b->nonvirtual;

		fprintf(f, "%-34s", r->name);
		col(f, fmt_cell(&r->c[V_NATIVE], c0, sizeof(c0)), 13);
		col(f, fmt_cell(&r->c[V_SHIM], c1, sizeof(c1)), 13);
		col(f, fmt_ratio(ratio(&r->c[V_SHIM], &r->c[V_NATIVE]), 1.05, true, r0, sizeof(r0)),
		    10);
		fputc('\n', f);
		for (int v = 0; v <= V_SHIM; v++)
			if (!bench_cell_have(&r->c[v]))
				fprintf(f, "  n/a: %s\n",
					r->c[v].active ? r->c[v].s.reason : r->c[v].reason);
	}

	fprintf(f, "\n%-34s %13s %13s %13s %10s\n", "fork+exec+wait /bin/true, us", "no preload",
		"empty lib", "shim", "shim/empty");
	fprintf(f, "%-34s", "");
	col(f, fmt_cell(&b->exec.c[0], c0, sizeof(c0)), 13);
	col(f, fmt_cell(&b->exec.c[1], c1, sizeof(c1)), 13);
	col(f, fmt_cell(&b->exec.c[2], c2, sizeof(c2)), 13);
	col(f, fmt_ratio(exec_ratio(b), 1.05, true, r0, sizeof(r0)), 10);
	fputc('\n', f);
	for (int v = 0; v < 3; v++)
		if (!bench_cell_have(&b->exec.c[v]))
			fprintf(f, "  n/a: %s\n",
				b->exec.c[v].active ? b->exec.c[v].s.reason : b->exec.c[v].reason);
	if (bench_cell_have(&b->exec.c[EXEC_PAIRED]))
		fprintf(f,
			"  shim/empty: median over %d rounds of each round's median over %ld "
			"blocks of back-to-back execs, empty shim shim empty (p10-p90 "
			"%.3f-%.3f); ratio of the column medians %.3f\n",
			b->exec.c[EXEC_PAIRED].n, b->exec_pairs / 2, b->exec.c[EXEC_PAIRED].s.p10,
			b->exec.c[EXEC_PAIRED].s.p90, ratio(&b->exec.c[2], &b->exec.c[1]));
	else if (b->exec.c[EXEC_PAIRED].active || bench_cell_have(&b->exec.c[1]))
		fprintf(f, "  shim/empty is the ratio of the column medians (pairs n/a: %s)\n",
			b->exec.c[EXEC_PAIRED].active ? b->exec.c[EXEC_PAIRED].s.reason
						      : b->exec.c[EXEC_PAIRED].reason);

	fprintf(f,
		"\nmemory added per process by the shim (paused worker after one open of every "
		"virtual file, vs %s, smaps_rollup): ",
		b->rss.vs_empty ? "an empty preloaded library" : "no preload");
	if (b->rss.ok)
		fprintf(f,
			"Rss %+ld KiB, Pss %+ld KiB, Private_Dirty %+ld KiB, Anonymous %+ld KiB\n",
			b->rss.rss_kb[1] - b->rss.rss_kb[0], b->rss.pss_kb[1] - b->rss.pss_kb[0],
			b->rss.private_dirty_kb[1] - b->rss.private_dirty_kb[0],
			b->rss.anon_kb[1] - b->rss.anon_kb[0]);
	else
		fprintf(f, "n/a (%s)\n", b->rss.reason);

	fprintf(f, "\nsampler CPU per pass:\n");
	{
		const struct sampler_cost *s[2] = {&b->cgprocd_cost, &b->lxcfs_cost};
		const char *lbl[2] = {"cgprocd --once", "lxcfs -l (load thread)"};

		for (int i = 0; i < 2; i++) {
			if (s[i]->ok)
				fprintf(f,
					"  %-24s %.2f ms for %u threads = %.2f ms per 1,000 "
					"threads%s%s\n",
					lbl[i], s[i]->cpu_ms_per_pass, s[i]->threads,
					s[i]->per_1000_threads_ms, *s[i]->detail ? "; " : "",
					s[i]->detail);
			else
				fprintf(f, "  %-24s n/a (%s)\n", lbl[i], s[i]->reason);
		}
	}

	if (b->callgrind) {
		fprintf(f, "\ncallgrind, instructions (Ir) per open+read+close in user space:\n");
		fprintf(f, "%-17s %12s %12s %12s\n", "file", "native", "shim", "shim-native");
		for (int i = 0; i < b->nfiles; i++) {
			const struct row *r = &b->files[i];
			char a[32] = "n/a", d[32] = "n/a", e[32] = "n/a";

			if (r->ir[0] >= 0)
				snprintf(a, sizeof(a), "%.0f", r->ir[0]);
			if (r->ir[1] >= 0)
				snprintf(d, sizeof(d), "%.0f", r->ir[1]);
			if (r->ir[0] >= 0 && r->ir[1] >= 0)
				snprintf(e, sizeof(e), "%+.0f", r->ir[1] - r->ir[0]);
			fprintf(f, "%-17s %12s %12s %12s\n", r->name, a, d, e);
		}
	}

	fprintf(f, "\ntargets:\n");
	for (int i = 0; i < b->ntargets; i++) {
		const struct target *t = &b->targets[i];

		fprintf(f, "  [%s] %-46s",
			!t->measured ? "n/a "
			: t->pass    ? "PASS"
				     : "FAIL",
			t->rule);
		if (t->measured && strcmp(t->name, "rss") == 0)
			fprintf(f, " %+.0f KiB\n", t->value);
		else if (t->measured)
			fprintf(f, " %.2fx%s%s\n", t->value, *t->detail ? "  " : "", t->detail);
		else
			fprintf(f, " not measured\n");
	}
	fprintf(f, "\n");
}

/* ---- plot ----------------------------------------------------------------------------------- */

bool bench_gnuplot(char *out, size_t size)
{
	const char *path = getenv("PATH");
	char dirs[4096], *save = NULL;

	snprintf(dirs, sizeof(dirs), "%s", path && *path ? path : "/usr/bin:/bin");
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, size, "%s/gnuplot", d);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

int bench_plot(const struct bench *b, const char *path, char *why, size_t why_size)
{
	char gp[4096], dat[] = "/tmp/cgproc-bench-plot-XXXXXX";
	char script[] = "/tmp/cgproc-bench-gp-XXXXXX";
	int dfd, sfd, status;
	FILE *d, *s;
	pid_t pid;

	if (!bench_gnuplot(gp, sizeof(gp))) {
		snprintf(why, why_size, "gnuplot not found in PATH (install gnuplot-nox)");
		return -ENOENT;
	}
	dfd = mkstemp(dat);
	if (dfd < 0) {
		snprintf(why, why_size, "mkstemp: %s", strerror(errno));
		return -errno;
	}
	sfd = mkstemp(script);
	if (sfd < 0) {
		snprintf(why, why_size, "mkstemp: %s", strerror(errno));
		close(dfd);
		unlink(dat);
		return -errno;
	}
	d = fdopen(dfd, "w");
	s = fdopen(sfd, "w");
	if (!d || !s) {
		snprintf(why, why_size, "fdopen: %s", strerror(errno));
		if (d)
			fclose(d);
		else
			close(dfd);
		if (s)
			fclose(s);
		else
			close(sfd);
		unlink(dat);
		unlink(script);
		return -EIO;
	}
	fprintf(d, "file native shim cgprocfs lxcfs\n");
	for (int i = 0; i < b->nfiles; i++) {
		fprintf(d, "%s", b->files[i].name);
		for (int v = 0; v < _V_MAX; v++) {
			const struct cell *c = &b->files[i].c[v];

			if (bench_cell_have(c))
				fprintf(d, " %.3f", c->s.median);
			else
				fprintf(d, " NaN");
		}
		fprintf(d, "\n");
	}
	fclose(d);
	fprintf(s, "set terminal pngcairo size 1400,700 font 'sans,10'\n");
	fprintf(s, "set output '%s'\n", path);
	fprintf(s,
		"set title 'cgproc bench: open+read+close per call (median of %d rounds x %ld "
		"calls), log scale'\n",
		b->rounds, b->iterations);
	fprintf(s, "set ylabel 'microseconds per call'\nset logscale y\nset grid ytics\n");
	fprintf(s, "set style data histograms\nset style histogram clustered gap 1\n");
	fprintf(s, "set style fill solid 0.85 border -1\nset boxwidth 0.9\n");
	fprintf(s, "set xtics rotate by -35 scale 0\nset key top left\nset yrange [1:*]\n");
	fprintf(s, "set datafile missing 'NaN'\n");
	{
		static const char *const colors[_V_MAX] = {"#4c72b0", "#55a868", "#c44e52",
							   "#8172b2"};
		bool first = true;

		/* one bar per variant that has at least one number (gnuplot warns on empty ones) */
		fprintf(s, "plot ");
		for (int v = 0; v < _V_MAX; v++) {
			bool any = false;

			for (int i = 0; i < b->nfiles; i++)
				any |= bench_cell_have(&b->files[i].c[v]);
			if (!any)
				continue;
			fprintf(s, "%s'%s' using %d%s title columnheader(%d) lc rgb '%s'",
				first ? "" : ", ", dat, v + 2, first ? ":xtic(1)" : "", v + 2,
				colors[v]);
			first = false;
		}
		fprintf(s, "\n");
	}
	fclose(s);
	pid = fork();
	if (pid == 0) {
		char *argv[] = {gp, script, NULL};

		execv(gp, argv);
		_exit(127);
	}
	status = -1;
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	unlink(dat);
	unlink(script);
	if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(why, why_size, "gnuplot failed (status %d)", status);
		return -EIO;
	}
	return 0;
}

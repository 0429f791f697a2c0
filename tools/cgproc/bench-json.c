/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgproc bench --json: the results as one JSON document (the format is in cgproc(1)). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cgproc-config.h"
#include "bench.h"

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fprintf(f, "null");
	else
		fprintf(f, "%.4f", v);
}

/* A cell's median, p10, p90 and per-round values, their keys suffixed with @unit. */
static void json_spread(FILE *f, const struct cell *c, const char *unit)
{
	fprintf(f, "\"median_%s\": ", unit);
	json_num(f, c->s.median);
	fprintf(f, ", \"p10_%s\": ", unit);
	json_num(f, c->s.p10);
	fprintf(f, ", \"p90_%s\": ", unit);
	json_num(f, c->s.p90);
	fprintf(f, ", \"rounds_%s\": [", unit);
	for (int i = 0; i < c->n; i++) {
		fprintf(f, "%s", i ? ", " : "");
		json_num(f, c->samples[i]);
	}
	fprintf(f, "]");
}

static void json_cell(FILE *f, const char *key, const struct cell *c)
{
	fprintf(f, "\"%s\": {", key);
	if (!bench_cell_have(c)) {
		fprintf(f, "\"status\": \"n/a\", \"reason\": ");
		json_str(f, c->active ? c->s.reason : c->reason);
		fprintf(f, "}");
		return;
	}
	fprintf(f, "\"status\": \"ok\", ");
	json_spread(f, c, "us");
	fprintf(f, ", \"mad_us\": ");
	json_num(f, c->s.mad);
	fprintf(f, "}");
}

static void json_component(FILE *f, const char *key, const struct component *c, bool last)
{
	fprintf(f, "    \"%s\": {\"status\": \"%s\", ", key, c->ok ? "ok" : "n/a");
	if (c->ok) {
		fprintf(f, "\"path\": ");
		json_str(f, c->path);
	} else {
		fprintf(f, "\"reason\": ");
		json_str(f, c->reason);
	}
	fprintf(f, "}%s\n", last ? "" : ",");
}

static void json_row(FILE *f, const struct row *r, const char *const keys[], int nkeys, bool last)
{
	fprintf(f, "    {\"name\": ");
	json_str(f, r->name);
	fprintf(f, ", \"path\": ");
	json_str(f, r->path);
	for (int v = 0; v < nkeys; v++) {
		fprintf(f, ",\n     ");
		json_cell(f, keys[v], &r->c[v]);
	}
	if (r->ir[0] >= 0 || r->ir[1] >= 0) {
		fprintf(f, ",\n     \"callgrind_ir_per_call\": {\"native\": ");
		json_num(f, r->ir[0] >= 0 ? r->ir[0] : NAN);
		fprintf(f, ", \"shim\": ");
		json_num(f, r->ir[1] >= 0 ? r->ir[1] : NAN);
		fprintf(f, "}");
	}
	fprintf(f, "}%s\n", last ? "" : ",");
}

static void json_sampler(FILE *f, const char *key, const struct sampler_cost *s, bool last)
{
	fprintf(f, "    \"%s\": {\"status\": \"%s\"", key, s->ok ? "ok" : "n/a");
	if (s->ok) {
		fprintf(f, ", \"cpu_ms_per_pass\": ");
		json_num(f, s->cpu_ms_per_pass);
		fprintf(f, ", \"threads\": %u, \"cpu_ms_per_1000_threads\": ", s->threads);
		json_num(f, s->per_1000_threads_ms);
		fprintf(f, ", \"detail\": ");
		json_str(f, s->detail);
	} else {
		fprintf(f, ", \"reason\": ");
		json_str(f, s->reason);
	}
	fprintf(f, "}%s\n", last ? "" : ",");
}

/* The exec target's estimator: t(shim)/t(empty library) per round (bench.h, EXEC_PAIRED). */
static void json_exec_paired(FILE *f, const struct bench *b)
{
	const struct cell *c = &b->exec.c[EXEC_PAIRED];

	if (!bench_cell_have(c)) {
		fprintf(f, "\"status\": \"n/a\", \"reason\": ");
		json_str(f, c->active ? c->s.reason : c->reason);
		return;
	}
	fprintf(f, "\"status\": \"ok\", \"pairs_per_round\": %ld, ", b->exec_pairs);
	json_spread(f, c, "ratio");
}

int bench_write_json(const struct bench *b, const char *path)
{
	static const char *const file_keys[] = {"native", "shim", "cgprocfs", "lxcfs"};
	static const char *const exec_keys[] = {"no_preload", "empty_library", "shim"};
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "we");
	int r = 0;

	if (!f)
		return -errno;
	fprintf(f, "{\n  \"cgproc_version\": \"%s\",\n  \"unit\": \"us per call\",\n",
		CGPROC_VERSION);
	fprintf(f, "  \"iterations\": %ld,\n  \"exec_iterations\": %ld,\n  \"rounds\": %d,\n",
		b->iterations, b->exec_iterations, b->rounds);
	fprintf(f, "  \"host_cpus\": %u,\n", b->ncpus);
	if (b->reuse_ms >= 0)
		fprintf(f, "  \"shim_reuse_ms\": %d,\n", b->reuse_ms);
	fprintf(f, "  \"cgroup\": ");
	json_str(f, b->cgroup);
	fprintf(f, ",\n  \"components\": {\n");
	json_component(f, "shim", &b->shim, false);
	json_component(f, "empty_library", &b->empty, false);
	json_component(f, "cgprocfs", &b->cgprocfs, false);
	json_component(f, "lxcfs", &b->lxcfs, false);
	json_component(f, "cgprocd", &b->cgprocd, false);
	json_component(f, "valgrind", &b->valgrind, true);
	fprintf(f, "  },\n  \"files\": [\n");
	for (int i = 0; i < b->nfiles; i++)
		json_row(f, &b->files[i], file_keys, _V_MAX, i == b->nfiles - 1);
	fprintf(f, "  ],\n  \"libc\": [\n");
	for (int i = 0; i < 3; i++)
		json_row(f, &b->libc[i], file_keys, 2, false);
	json_row(f, &b->nonvirtual, file_keys, 2, true);
	fprintf(f, "  ],\n  \"exec\": [\n");
	json_row(f, &b->exec, exec_keys, 3, true);
	fprintf(f, "  ],\n  \"exec_paired\": {");
	json_exec_paired(f, b);
	fprintf(f, "},\n  \"rss_added\": {");
	if (b->rss.ok)
		fprintf(f,
			"\"status\": \"ok\", \"rss_kib\": %ld, \"pss_kib\": %ld, "
			"\"private_dirty_kib\": %ld, \"anonymous_kib\": %ld, "
			"\"baseline\": \"%s\", \"baseline_rss_kib\": %ld, \"shim_rss_kib\": %ld}",
			b->rss.rss_kb[1] - b->rss.rss_kb[0], b->rss.pss_kb[1] - b->rss.pss_kb[0],
			b->rss.private_dirty_kb[1] - b->rss.private_dirty_kb[0],
			b->rss.anon_kb[1] - b->rss.anon_kb[0], b->rss.vs_empty ? "empty" : "none",
			b->rss.rss_kb[0], b->rss.rss_kb[1]);
	else {
		fprintf(f, "\"status\": \"n/a\", \"reason\": ");
		json_str(f, b->rss.reason);
		fprintf(f, "}");
	}
	fprintf(f, ",\n  \"sampler\": {\n");
	json_sampler(f, "cgprocd", &b->cgprocd_cost, false);
	json_sampler(f, "lxcfs_loadavg", &b->lxcfs_cost, true);
	fprintf(f, "  },\n  \"targets\": [\n");
	for (int i = 0; i < b->ntargets; i++) {
		const struct target *t = &b->targets[i];

		fprintf(f, "    {\"name\": \"%s\", \"rule\": ", t->name);
		json_str(f, t->rule);
		fprintf(f, ", \"status\": \"%s\", \"value\": ",
			!t->measured ? "n/a"
			: t->pass    ? "pass"
				     : "fail");
		json_num(f, t->measured ? t->value : NAN);
		fprintf(f, ", \"limit\": ");
		json_num(f, t->limit);
		fprintf(f, ", \"detail\": ");
		json_str(f, t->detail);
		fprintf(f, "}%s\n", i == b->ntargets - 1 ? "" : ",");
	}
	fprintf(f, "  ]\n}\n");
	if (fflush(f) != 0 || ferror(f))
		r = -EIO;
	if (f != stdout && fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

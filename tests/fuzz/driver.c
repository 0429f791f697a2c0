/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stand-in for libFuzzer so every fuzz target builds and runs with gcc in the normal build:
 * replay every file of the corpus directories given as arguments, then feed pseudo-random and
 * mutated inputs until --seconds have passed (default 2). Each input sits in its own exactly
 * sized heap block so an ASan build catches over-reads. Speaks TAP for `meson test`.
 *
 *   fuzz-NAME [--seconds S] [--seed N] [DIR|FILE]...
 *
 * Not a coverage-guided fuzzer: the clang build (-Dfuzz=true) is for real fuzzing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

#define DRIVER_MAX_INPUT (256 * 1024)
#define MAX_SEEDS 4096

struct seed {
	uint8_t *data;
	size_t size;
};

static struct seed seeds[MAX_SEEDS];
static size_t n_seeds;

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void run_one(const uint8_t *data, size_t size)
{
	/* exact-size copy: an over-read is a heap overflow under ASan */
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy) {
		perror("malloc");
		exit(2);
	}
	memcpy(copy, data, size);
	LLVMFuzzerTestOneInput(copy, size);
	free(copy);
}

static int load_file(const char *path)
{
	struct seed s;
	uint8_t *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(DRIVER_MAX_INPUT);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < DRIVER_MAX_INPUT && (n = read(fd, buf + len, DRIVER_MAX_INPUT - len)) > 0)
		len += (size_t)n;
	close(fd);
	s.data = buf;
	s.size = len;
	run_one(s.data, s.size);
	if (n_seeds < MAX_SEEDS)
		seeds[n_seeds++] = s;
	else
		free(buf);
	return 0;
}

static int load_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return load_file(path);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char sub[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		r = load_file(sub);
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

/* Tokens that matter to the parsers under test. */
static const char *const tokens[] = {
	"\n",
	" ",
	"\t",
	":",
	",",
	"-",
	"-1",
	"0",
	"max",
	"\\040",
	"/",
	" - ",
	"0::/",
	"cpu",
	"cpu0 ",
	"btime",
	"kB",
	"processor\t: ",
	"\n\n",
	"8191",
	"8192",
	"18446744073709551615",
	"18446744073709551616",
	"4294967296",
	"cgroup2",
	"cgroup",
	"memory",
	"name=systemd",
	"=",
	"#",
	"\0",
};

static size_t mutate(uint8_t *buf, size_t size, size_t cap)
{
	unsigned rounds = 1 + (unsigned)(rng() % 8);

	for (unsigned k = 0; k < rounds; k++) {
		size_t pos = size ? (size_t)(rng() % (size + 1)) : 0;

		switch (rng() % 7) {
		case 0: /* flip a bit */
			if (size)
				buf[rng() % size] ^= (uint8_t)(1u << (rng() % 8));
			break;
		case 1: /* random byte */
			if (size)
				buf[rng() % size] = (uint8_t)rng();
			break;
		case 2: { /* insert a token */
			const char *t = tokens[rng() % (sizeof(tokens) / sizeof(tokens[0]))];
			size_t tl = t[0] ? strlen(t) : 1;

			if (size + tl > cap)
				break;
			memmove(buf + pos + tl, buf + pos, size - pos);
			memcpy(buf + pos, t, tl);
			size += tl;
			break;
		}
		case 3: { /* delete a range */
			size_t n = size - pos ? (size_t)(rng() % (size - pos + 1)) % 64 : 0;

			memmove(buf + pos, buf + pos + n, size - pos - n);
			size -= n;
			break;
		}
		case 4: { /* duplicate a range */
			size_t n = size - pos ? (size_t)(rng() % (size - pos)) % 256 : 0;

			if (size + n > cap)
				break;
			memmove(buf + pos + n, buf + pos, size - pos);
			size += n;
			break;
		}
		case 5: /* truncate */
			size = pos;
			break;
		case 6: /* digits to a long number */
			if (size) {
				size_t p = rng() % size;

				for (size_t i = p; i < size && i < p + 24; i++)
					if (buf[i] >= '0' && buf[i] <= '9')
						buf[i] = (uint8_t)('0' + rng() % 10);
			}
			break;
		}
	}
	return size;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = 2, start;
	uint64_t execs = 0;
	uint8_t *buf;
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = strtod(argv[++i], NULL);
			continue;
		}
		if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			rng_state = strtoull(argv[++i], NULL, 0) | 1;
			continue;
		}
		r = load_path(argv[i]);
		if (r < 0) {
			printf("1..1\nnot ok 1 - cannot read %s: %s\n", argv[i], strerror(-r));
			return 1;
		}
	}
	printf("1..2\nok 1 - replayed %zu corpus files\n", n_seeds);
	fflush(stdout);

	buf = malloc(DRIVER_MAX_INPUT);
	if (!buf)
		return 2;
	start = now();
	while (now() - start < seconds) {
		for (int k = 0; k < 256; k++) {
			size_t size;

			if (n_seeds > 0 && rng() % 8 != 0) {
				const struct seed *s = &seeds[rng() % n_seeds];

				size = s->size < DRIVER_MAX_INPUT / 2 ? s->size
								      : DRIVER_MAX_INPUT / 2;
				memcpy(buf, s->data, size);
				if (rng() % 16 == 0 && n_seeds > 1) { /* splice another seed */
					const struct seed *t = &seeds[rng() % n_seeds];
					size_t at = size ? (size_t)(rng() % size) : 0;
					size_t tl = t->size < DRIVER_MAX_INPUT / 2
							    ? t->size
							    : DRIVER_MAX_INPUT / 2;
					size_t from = tl ? (size_t)(rng() % tl) : 0;

					memcpy(buf + at, t->data + from, tl - from);
					size = at + tl - from;
				}
			} else {
				size = (size_t)(rng() % 512);
				for (size_t i = 0; i < size; i++)
					buf[i] = (uint8_t)(rng() % 4 ? ' ' + rng() % 95 : rng());
			}
			size = mutate(buf, size, DRIVER_MAX_INPUT);
			run_one(buf, size);
			execs++;
		}
	}
	printf("ok 2 - %llu random and mutated inputs in %.1f s\n", (unsigned long long)execs,
	       now() - start);
	free(buf);
	for (size_t i = 0; i < n_seeds; i++)
		free(seeds[i].data);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgproc: the command-line front end. Dispatches to one subcommand per file. */
#include <stdio.h>
#include <string.h>

#include "cgproc-config.h"
#include "cgproc.h"
#include "model/macro.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"run", cmd_run, "run a command in a limited cgroup that it sees as its machine"},
	{"show", cmd_show, "print the virtual files a process sees"},
	{"doctor", cmd_doctor, "say what works on this host and why not"},
	{"bench", cmd_bench, "measure native /proc, the shim, cgprocfs and lxcfs side by side"},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: cgproc COMMAND [OPTIONS...]\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n`cgproc COMMAND --help` describes each; see cgproc(1).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("cgproc %s\n", CGPROC_VERSION);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "cgproc: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}

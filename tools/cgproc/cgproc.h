/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgproc CLI: one file per subcommand, dispatched from main.c. */
#pragma once

int cmd_show(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Exit codes shared by all subcommands. */
#define EXIT_USAGE 2
/* `cgproc run` returns the command's status; these mirror env(1)/timeout(1): */
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127
#define EXIT_SETUP 125 /* cgproc itself failed before the command ran */

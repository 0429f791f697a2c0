/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgproc show: not built yet (placeholder so the dispatcher links while it is being written). */
#include <stdio.h>

#include "cgproc.h"

int cmd_show(int argc, char **argv)
{
	fprintf(stderr, "cgproc show: not available in this build\n");
	return EXIT_SETUP;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `cgproc cdi`: prints a Container Device Interface spec (kind cgproc.io/view) so that engines
 * that speak CDI give a container the view with `--device cgproc.io/view=auto` (or =shim,
 * =fuse). Each device is one createContainer hook: `cgproc oci-hook --view=MODE`, the same hook
 * hooks.d and the runtime wrapper use, so a missing shim or cgprocfs never fails a start (a CDI
 * mount of a missing file would).
 *
 * Field names follow the CDI specification (cncf-tags/container-device-interface SPEC.md):
 * cdiVersion, kind ("vendor/class"), devices[].name, devices[].containerEdits.hooks[] with
 * hookName, path, args. cdiVersion 0.3.0 is the oldest with hooks, so the oldest engines
 * accept it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgproc-config.h"
#include "cgproc.h"
#include "model/macro.h"
#include "oci.h"

#define CDI_VERSION "0.3.0"
#define CDI_KIND "cgproc.io/view"
#define INSTALLED_HOOK CGPROC_LIBEXECDIR "/cgproc/oci-hook"

static struct json *device(struct json_doc *doc, const char *hook, enum oci_view view)
{
	struct json *dev = json_new(doc, JSON_OBJECT), *edits = json_new(doc, JSON_OBJECT);
	struct json *hooks = json_new(doc, JSON_ARRAY), *h = json_new(doc, JSON_OBJECT);
	struct json *args = json_new(doc, JSON_ARRAY), *arg0, *arg1;
	char view_arg[32];

	snprintf(view_arg, sizeof(view_arg), "--view=%s", oci_view_name(view));
	arg0 = json_new_string(doc, "oci-hook");
	arg1 = json_new_string(doc, view_arg);
	if (!dev || !edits || !hooks || !h || !args || !arg0 || !arg1)
		return NULL;
	json_append(args, arg0);
	json_append(args, arg1);
	json_append(hooks, h);
	if (json_set(doc, h, "hookName", json_new_string(doc, "createContainer")) < 0 ||
	    json_set(doc, h, "path", json_new_string(doc, hook)) < 0 ||
	    json_set(doc, h, "args", args) < 0 || json_set(doc, edits, "hooks", hooks) < 0 ||
	    json_set(doc, dev, "name", json_new_string(doc, oci_view_name(view))) < 0 ||
	    json_set(doc, dev, "containerEdits", edits) < 0)
		return NULL;
	return dev;
}

/* Builds the spec into a fresh document. */
static int cdi_spec(const char *hook, struct json_doc **ret)
{
	static const enum oci_view views[] = {OCI_VIEW_AUTO, OCI_VIEW_SHIM, OCI_VIEW_FUSE};
	struct json_doc *doc;
	struct json *root, *devices;
	int r = json_parse("{}", 2, &doc, NULL);

	if (r < 0)
		return r;
	root = json_root(doc);
	devices = json_new(doc, JSON_ARRAY);
	if (!devices || json_set(doc, root, "cdiVersion", json_new_string(doc, CDI_VERSION)) < 0 ||
	    json_set(doc, root, "kind", json_new_string(doc, CDI_KIND)) < 0 ||
	    json_set(doc, root, "devices", devices) < 0)
		goto oom;
	for (size_t i = 0; i < ARRAY_SIZE(views); i++) {
		struct json *dev = device(doc, hook, views[i]);

		if (!dev)
			goto oom;
		json_append(devices, dev);
	}
	*ret = doc;
	return 0;
oom:
	json_doc_free(doc);
	return -ENOMEM;
}

int cmd_cdi(int argc, char **argv)
{
	static const struct option opts[] = {
		{"hook", required_argument, NULL, 'k'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	char self[PATH_MAX];
	const char *hook = NULL, *output = NULL;
	struct json_doc *doc;
	FILE *f = stdout;
	int c, r;

	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			hook = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			printf("Usage: cgproc cdi [--hook PATH] [--output FILE]\n"
			       "Prints a CDI spec, kind %s, devices auto, shim and fuse: e.g.\n"
			       "  cgproc cdi --output /etc/cdi/cgproc.json\n"
			       "  podman run --device %s=auto ...\n",
			       CDI_KIND, CDI_KIND);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (!hook) {
		/* the installed hook, else this very binary (a build tree) */
		hook = INSTALLED_HOOK;
		if (access(hook, X_OK) < 0 && oci_self_exe(self, sizeof(self)) == 0)
			hook = self;
	}
	if (hook[0] != '/') {
		fprintf(stderr, "cgproc cdi: --hook must be an absolute path\n");
		return EXIT_USAGE;
	}
	r = cdi_spec(hook, &doc);
	if (r < 0) {
		fprintf(stderr, "cgproc cdi: %s\n", strerror(-r));
		return 1;
	}
	if (output && !(f = fopen(output, "we"))) {
		fprintf(stderr, "cgproc cdi: cannot write %s: %m\n", output);
		json_doc_free(doc);
		return 1;
	}
	r = json_write(json_root(doc), f);
	fputc('\n', f);
	if ((output ? fclose(f) : fflush(f)) != 0)
		r = -EIO;
	json_doc_free(doc);
	if (r < 0) {
		fprintf(stderr, "cgproc cdi: write failed\n");
		return 1;
	}
	return 0;
}

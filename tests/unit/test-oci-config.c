/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The runtime wrapper's config.json edits (tools/cgproc/oci-seccomp.c): the sysinfo NOTIFY rule
 * merged into the engine's seccomp profile, and the createContainer hook, both idempotent.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/cgproc/oci-seccomp.h"

#define SOCK "/run/cgproc-sysinfo.sock"

static char *edit(const char *config, int want, const char *want_why)
{
	struct json_doc *doc = NULL;
	const char *why = "";
	char *out = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	cr_assert_eq(json_parse(config, strlen(config), &doc, NULL), 0);
	r = oci_seccomp_add_sysinfo(doc, json_root(doc), SOCK, &why);
	cr_assert_eq(r, want, "%s: got %d (%s)", config, r, why);
	if (want_why)
		cr_assert_str_eq(why, want_why);
	f = open_memstream(&out, &len);
	json_write(json_root(doc), f);
	fclose(f);
	json_doc_free(doc);
	return out;
}

Test(oci_seccomp, no_profile_gets_an_allow_all_one)
{
	char *out = edit("{\"ociVersion\":\"1.0.2\",\"linux\":{\"namespaces\":[]}}", 1, "added");

	cr_assert_str_eq(out, "{\"ociVersion\":\"1.0.2\",\"linux\":{\"namespaces\":[],\"seccomp\":{"
			      "\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":["
			      "\"sysinfo\"],\"action\":\"SCMP_ACT_NOTIFY\"}],\"listenerPath\":"
			      "\"" SOCK "\",\"listenerMetadata\":\"cgproc\"}}}");
	free(out);
	out = edit("{}", 1, "added");
	cr_assert(strstr(out, "\"linux\":{\"seccomp\":{"));
	free(out);
	out = edit("{\"linux\":{\"seccomp\":null}}", 1, "added");
	cr_assert(strstr(out, "SCMP_ACT_NOTIFY"));
	free(out);
}

Test(oci_seccomp, merged_into_an_allow_list_profile)
{
	/* Docker's and Podman's default: deny by default, a long allow list naming sysinfo */
	const char *in = "{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\","
			 "\"defaultErrnoRet\":1,\"architectures\":[\"SCMP_ARCH_X86_64\"],"
			 "\"syscalls\":[{\"names\":[\"read\",\"sysinfo\",\"write\"],"
			 "\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"sysinfo\"],"
			 "\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"ptrace\"],"
			 "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1}]}}}";
	char *out = edit(in, 1, "added");

	cr_assert_str_eq(out, "{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\","
			      "\"defaultErrnoRet\":1,\"architectures\":[\"SCMP_ARCH_X86_64\"],"
			      "\"syscalls\":[{\"names\":[\"read\",\"write\"],"
			      "\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"ptrace\"],"
			      "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1},{\"names\":["
			      "\"sysinfo\"],\"action\":\"SCMP_ACT_NOTIFY\"}],\"listenerPath\":"
			      "\"" SOCK "\",\"listenerMetadata\":\"cgproc\"}}}");
	/* a second pass changes nothing */
	{
		char *again = edit(out, 0, "already added");

		cr_assert_str_eq(again, out);
		free(again);
	}
	free(out);
}

Test(oci_seccomp, never_grants_what_the_profile_denies)
{
	/* default deny and sysinfo not listed */
	char *out = edit("{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\","
			 "\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"}]}}}",
			 0, "the profile denies sysinfo");

	cr_assert_null(strstr(out, "NOTIFY"));
	free(out);
	/* default allow, sysinfo explicitly denied */
	out = edit("{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
		   "{\"names\":[\"sysinfo\"],\"action\":\"SCMP_ACT_KILL\"}]}}}",
		   0, "the profile denies sysinfo");
	cr_assert_null(strstr(out, "NOTIFY"));
	free(out);
	/* a conditional rule is the engine's business */
	out = edit("{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
		   "{\"names\":[\"sysinfo\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,"
		   "\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}}}",
		   0, "the profile has its own rule for sysinfo");
	free(out);
}

Test(oci_seccomp, another_listener_is_left_alone)
{
	const char *in =
		"{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\","
		"\"listenerPath\":\"/run/other.sock\",\"syscalls\":[{\"names\":[\"mknod\"],"
		"\"action\":\"SCMP_ACT_NOTIFY\"}]}}}";
	char *out = edit(in, 0, "the profile already has another seccomp listener");

	cr_assert_str_eq(out, in);
	free(out);
}

Test(oci_seccomp, malformed_configs_are_left_alone)
{
	static const char *const bad[] = {
		"[]",
		"{\"linux\":[]}",
		"{\"linux\":{\"seccomp\":\"x\"}}",
		"{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}}}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = edit(bad[i], 0, NULL);

		cr_assert_str_eq(out, bad[i]);
		free(out);
	}
}

Test(oci_hooks, added_once)
{
	const char *args[] = {"oci-hook", "--view=shim", NULL};
	struct json_doc *doc = NULL;
	const char *in = "{\"hooks\":{\"createContainer\":[{\"path\":\"/usr/bin/other\"}],"
			 "\"poststop\":[]}}";
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	cr_assert_eq(json_parse(in, strlen(in), &doc, NULL), 0);
	cr_assert_eq(oci_hooks_add(doc, json_root(doc), "createContainer", "/usr/bin/cgproc", args),
		     1);
	cr_assert_eq(oci_hooks_add(doc, json_root(doc), "createContainer", "/usr/bin/cgproc", args),
		     0);
	f = open_memstream(&out, &len);
	json_write(json_root(doc), f);
	fclose(f);
	cr_assert_str_eq(out, "{\"hooks\":{\"createContainer\":[{\"path\":\"/usr/bin/other\"},"
			      "{\"path\":\"/usr/bin/cgproc\",\"args\":[\"oci-hook\","
			      "\"--view=shim\"]}],\"poststop\":[]}}");
	free(out);
	json_doc_free(doc);

	cr_assert_eq(json_parse("{\"hooks\":[]}", 12, &doc, NULL), 0);
	cr_assert_eq(oci_hooks_add(doc, json_root(doc), "createContainer", "/x", args), -EINVAL);
	json_doc_free(doc);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Adds "sysinfo -> SCMP_ACT_NOTIFY" with the agent's listenerPath to a container's seccomp
 * profile (config.json linux.seccomp, runtime-spec config-linux.md), merged into whatever profile
 * the engine chose: the engine's rules stay, only sysinfo changes hands.
 *
 * Must not: grant a call the profile denies (sysinfo is trapped only where it was allowed), take
 * over another agent's listenerPath, or leave sysinfo in two rules (libseccomp refuses a
 * syscall with two different actions, and runc with it the whole container).
 */
#include <errno.h>
#include <string.h>

#include "oci-seccomp.h"

/* Actions under which the call runs as the kernel would run it without a filter. */
static bool action_allows(const struct json *action)
{
	return json_is_string(action, "SCMP_ACT_ALLOW") || json_is_string(action, "SCMP_ACT_LOG");
}

static bool names_list(const struct json *rule, const char *name)
{
	const struct json *names = json_get(rule, "names");

	if (names && names->type == JSON_ARRAY)
		for (const struct json *n = names->first; n; n = n->next)
			if (json_is_string(n, name))
				return true;
	return json_is_string(json_get(rule, "name"), name); /* the pre-1.0 single name */
}

static bool rule_has_args(const struct json *rule)
{
	const struct json *args = json_get(rule, "args");

	return args && args->type == JSON_ARRAY && args->first;
}

/* Removes @name from every rule; drops rules left with no name. */
static void unlist(struct json *syscalls, const char *name)
{
	struct json *rule = syscalls->first;

	while (rule) {
		struct json *next = rule->next, *names = json_get(rule, "names");

		if (names && names->type == JSON_ARRAY) {
			struct json *n = names->first;

			while (n) {
				struct json *after = n->next;

				if (json_is_string(n, name))
					json_remove(names, n);
				n = after;
			}
			if (!names->first && !json_get(rule, "name"))
				json_remove(syscalls, rule);
		}
		rule = next;
	}
}

static struct json *notify_rule(struct json_doc *doc)
{
	struct json *rule = json_new(doc, JSON_OBJECT), *names = json_new(doc, JSON_ARRAY);
	struct json *name = json_new_string(doc, "sysinfo");
	struct json *action = json_new_string(doc, OCI_NOTIFY_ACTION);

	if (!rule || !names || !name || !action)
		return NULL;
	json_append(names, name);
	if (json_set(doc, rule, "names", names) < 0 || json_set(doc, rule, "action", action) < 0)
		return NULL;
	return rule;
}

static int set_string(struct json_doc *doc, struct json *obj, const char *key, const char *s)
{
	struct json *v = json_new_string(doc, s);

	return v ? json_set(doc, obj, key, v) : -ENOMEM;
}

int oci_seccomp_add_sysinfo(struct json_doc *doc, struct json *config, const char *socket,
			    const char **ret_why)
{
	struct json *linux_, *seccomp, *syscalls, *rule, *listener;
	bool listed = false, allowed = false;
	int r;

	if (!config || config->type != JSON_OBJECT) {
		*ret_why = "config.json is not an object";
		return 0;
	}
	linux_ = json_get(config, "linux");
	if (!linux_) {
		linux_ = json_new(doc, JSON_OBJECT);
		if (!linux_ || json_set(doc, config, "linux", linux_) < 0)
			return -ENOMEM;
	}
	if (linux_->type != JSON_OBJECT) {
		*ret_why = "linux is not an object";
		return 0;
	}
	seccomp = json_get(linux_, "seccomp");
	if (seccomp && seccomp->type == JSON_NULL)
		seccomp = NULL;
	if (!seccomp) {
		/* No profile (unconfined, privileged): one that traps sysinfo and allows the rest.
		 * Only the native architecture is filtered: other ABIs keep their host sysinfo. */
		seccomp = json_new(doc, JSON_OBJECT);
		if (!seccomp || set_string(doc, seccomp, "defaultAction", "SCMP_ACT_ALLOW") < 0 ||
		    json_set(doc, linux_, "seccomp", seccomp) < 0)
			return -ENOMEM;
	}
	if (seccomp->type != JSON_OBJECT) {
		*ret_why = "linux.seccomp is not an object";
		return 0;
	}
	listener = json_get(seccomp, "listenerPath");
	syscalls = json_get(seccomp, "syscalls");
	if (syscalls && syscalls->type != JSON_ARRAY) {
		*ret_why = "linux.seccomp.syscalls is not an array";
		return 0;
	}
	for (rule = syscalls ? syscalls->first : NULL; rule; rule = rule->next) {
		if (!names_list(rule, "sysinfo"))
			continue;
		if (json_is_string(json_get(rule, "action"), OCI_NOTIFY_ACTION) &&
		    json_is_string(listener, socket)) {
			*ret_why = "already added";
			return 0;
		}
		if (rule_has_args(rule) || json_get(rule, "name")) {
			*ret_why = "the profile has its own rule for sysinfo";
			return 0;
		}
		listed = true;
		allowed = action_allows(json_get(rule, "action"));
	}
	if (listener && !json_is_string(listener, "")) {
		*ret_why = "the profile already has another seccomp listener";
		return 0;
	}
	if (!listed)
		allowed = action_allows(json_get(seccomp, "defaultAction"));
	if (!allowed) {
		*ret_why = "the profile denies sysinfo";
		return 0;
	}
	if (!syscalls) {
		syscalls = json_new(doc, JSON_ARRAY);
		if (!syscalls || json_set(doc, seccomp, "syscalls", syscalls) < 0)
			return -ENOMEM;
	}
	unlist(syscalls, "sysinfo");
	rule = notify_rule(doc);
	if (!rule)
		return -ENOMEM;
	json_append(syscalls, rule);
	r = set_string(doc, seccomp, "listenerPath", socket);
	if (r >= 0 && !json_get(seccomp, "listenerMetadata"))
		r = set_string(doc, seccomp, "listenerMetadata", OCI_LISTENER_METADATA);
	if (r < 0)
		return r;
	*ret_why = "added";
	return 1;
}

int oci_hooks_add(struct json_doc *doc, struct json *config, const char *stage, const char *path,
		  const char *const *args)
{
	struct json *hooks, *list, *hook, *argv;

	if (!config || config->type != JSON_OBJECT)
		return -EINVAL;
	hooks = json_get(config, "hooks");
	if (!hooks || hooks->type == JSON_NULL) {
		hooks = json_new(doc, JSON_OBJECT);
		if (!hooks || json_set(doc, config, "hooks", hooks) < 0)
			return -ENOMEM;
	}
	if (hooks->type != JSON_OBJECT)
		return -EINVAL;
	list = json_get(hooks, stage);
	if (!list || list->type == JSON_NULL) {
		list = json_new(doc, JSON_ARRAY);
		if (!list || json_set(doc, hooks, stage, list) < 0)
			return -ENOMEM;
	}
	if (list->type != JSON_ARRAY)
		return -EINVAL;
	for (hook = list->first; hook; hook = hook->next) {
		const struct json *a = json_get(hook, "args");

		if (json_is_string(json_get(hook, "path"), path) && a && a->type == JSON_ARRAY &&
		    json_is_string(a->first, args[0]))
			return 0;
	}
	hook = json_new(doc, JSON_OBJECT);
	argv = json_new(doc, JSON_ARRAY);
	if (!hook || !argv || set_string(doc, hook, "path", path) < 0 ||
	    json_set(doc, hook, "args", argv) < 0)
		return -ENOMEM;
	for (; *args; args++) {
		struct json *s = json_new_string(doc, *args);

		if (!s)
			return -ENOMEM;
		json_append(argv, s);
	}
	json_append(list, hook);
	return 1;
}

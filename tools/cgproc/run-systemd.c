/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `cgproc run` on a host whose cgroup tree systemd manages: the group is a transient scope unit
 * that PID 1 makes, limits included, through its D-Bus API (see run-cgroup.h for when). A group
 * made with mkdir(2) behind systemd's back is one it neither knows nor accounts for, and
 * cgroup-v2 delegation (systemd.resource-control(5), "Delegate=") says the tree below a unit
 * belongs to its manager; a scope is what `systemd-run --scope` and container engines' systemd
 * drivers make for the same reason.
 *
 * The calls, as org.freedesktop.systemd1(5) documents them:
 *  - Manager.StartTransientUnit(name, "fail", properties, no aux units) with PIDs (au: the
 *    command, which waits until it is inside), Delegate (b: the command and a nested `cgproc run`
 *    may make groups below the scope), CollectMode "inactive-or-failed" (a scope whose start
 *    failed is unloaded too), and the limits as systemd.resource-control(5) names them:
 *    MemoryMax (t, bytes), MemorySwapMax (t), AllowedCPUs (ay, a bit mask, CPU n in bit n%8 of
 *    byte n/8), CPUQuotaPerSecUSec (t: quota per second of wall time) with CPUQuotaPeriodUSec (t),
 *    and Slice (s), the slice of the caller's own unit, so that its limits still bind.
 *    The call returns a job; the scope exists once the job's JobRemoved signal reports "done".
 *  - Manager.StopUnit(name, "replace") on the way out, after whatever was left has been killed,
 *    so that no unit stays behind even when systemd has not yet seen the scope run empty.
 * The bus: systemd's private socket /run/systemd/private, which needs root (as `cgproc run` does)
 * and no D-Bus daemon, as systemctl does as root; else the system bus. DBUS_SYSTEM_BUS_ADDRESS,
 * when set, names the bus to use instead. Signals reach every private-socket client unasked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/cpuset.h"
#include "run-backend.h"

#if HAVE_SYSTEMD
#include <systemd/sd-bus.h>

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define JOB_TIMEOUT_US (120ULL * 1000000) /* a scope starts in well under a second, TCG aside */

struct job_wait {
	const char *unit;
	bool done;
	char result[32];
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct job_wait *w = userdata;
	const char *job, *unit, *result;
	uint32_t id;

	(void)error;
	if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0 ||
	    strcmp(unit, w->unit) != 0)
		return 0;
	w->done = true;
	snprintf(w->result, sizeof(w->result), "%s", result);
	return 0;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Dispatch the bus until the JobRemoved of @w->unit came (its result in @w) or the time is up. */
static int job_wait(sd_bus *bus, struct job_wait *w, uint64_t timeout_us)
{
	uint64_t end = now_us() + timeout_us;
	int r;

	while (!w->done) {
		uint64_t now = now_us();

		r = sd_bus_process(bus, NULL);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		if (now >= end)
			return -ETIMEDOUT;
		r = sd_bus_wait(bus, end - now);
		if (r < 0)
			return r;
	}
	return 0;
}

static int bus_connect(sd_bus **ret, const char **ret_what)
{
	sd_bus *bus = NULL;
	int r;

	if (!getenv("DBUS_SYSTEM_BUS_ADDRESS")) {
		r = sd_bus_new(&bus);
		if (r >= 0)
			r = sd_bus_set_address(bus, "unix:path=/run/systemd/private");
		if (r >= 0)
			r = sd_bus_start(bus);
		if (r >= 0) {
			*ret = bus;
			*ret_what = "systemd's private socket";
			return 0;
		}
		sd_bus_unref(bus);
		bus = NULL;
	}
	r = sd_bus_open_system(&bus);
	if (r < 0)
		return r;
	*ret = bus;
	*ret_what = getenv("DBUS_SYSTEM_BUS_ADDRESS") ? "the system bus of DBUS_SYSTEM_BUS_ADDRESS"
						      : "the system bus";
	return 0;
}

/* Whether systemd knows a unit of that name: 1 yes, 0 no, -errno when it cannot be asked. */
static int unit_known(sd_bus *bus, const char *unit, char *why, size_t size)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &e, &reply, "s",
				   unit);

	if (r >= 0)
		r = 1;
	else if (sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit"))
		r = 0;
	else
		snprintf(why, size, "%s", e.message ? e.message : strerror(-r));
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	return r;
}

int runcg_systemd_probe(char *why, size_t size)
{
	sd_bus *bus = NULL;
	const char *what = "";
	char e[256] = "";
	int r = bus_connect(&bus, &what);

	if (r < 0) {
		snprintf(why, size, "cannot connect to systemd: %s", strerror(-r));
		return r;
	}
	r = unit_known(bus, "init.scope", e, sizeof(e));
	if (r < 0)
		snprintf(why, size, "systemd does not answer on %s: %s", what, e);
	else
		snprintf(why, size, "systemd answers on %s", what);
	sd_bus_flush_close_unref(bus);
	return r < 0 ? r : 0;
}

int runsd_open(struct runcg *cg)
{
	sd_bus *bus = NULL;
	const char *what = "";
	char why[256] = "";
	int r;

	if ((size_t)snprintf(cg->unit, sizeof(cg->unit), "%s.scope", cg->name) >=
	    sizeof(cg->unit)) {
		snprintf(cg->why, sizeof(cg->why), "the unit name would be too long");
		return -ENAMETOOLONG;
	}
	r = bus_connect(&bus, &what);
	if (r < 0) {
		snprintf(cg->why, sizeof(cg->why), "cannot connect to systemd: %s", strerror(-r));
		return r;
	}
	r = unit_known(bus, cg->unit, why, sizeof(why));
	if (r < 0) {
		snprintf(cg->why, sizeof(cg->why), "systemd does not answer on %s: %s", what, why);
		sd_bus_unref(bus);
		return r;
	}
	if (r > 0) {
		runcg_err("unit %s already exists (not ours: choose another --name)", cg->unit);
		sd_bus_unref(bus);
		return -EEXIST;
	}
	runcg_verbose("systemd manages the cgroups: %s through %s", cg->unit, what);
	cg->bus = bus;
	return 0;
}

static int append_prop_u64(sd_bus_message *m, const char *name, uint64_t v)
{
	runcg_verbose("%s=%llu", name, (unsigned long long)v);
	return sd_bus_message_append(m, "(sv)", name, "t", v);
}

/* AllowedCPUs: the CPU list as systemd's bit mask, as long as the highest CPU needs. */
static int append_cpus(sd_bus_message *m, const char *list)
{
	static struct cpuset set;
	uint8_t mask[CPUSET_MAX / 8] = {0};
	size_t len = 0;
	int r;

	if (cpuset_parse((struct span){list, strlen(list)}, &set) < 0)
		return -EINVAL;
	for (unsigned cpu = 0; cpu < CPUSET_MAX; cpu++)
		if (cpuset_test(&set, cpu)) {
			mask[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
			len = cpu / 8 + 1;
		}
	runcg_verbose("AllowedCPUs=%s", list);
	r = sd_bus_message_open_container(m, 'r', "sv");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", "AllowedCPUs");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', "ay");
	if (r >= 0)
		r = sd_bus_message_append_array(m, 'y', mask, len);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r;
}

/* The slice the caller's unit is in ("user-1000.slice" for a login shell's session scope), so
 * that the slice's limits keep applying to the command; empty: systemd's default. */
static void caller_slice(char *ret, size_t size)
{
	char own[CG_PATH_MAX], *end;

	ret[0] = 0;
	if (runcg_pid_cgroup(0, CG_UNIFIED, own, sizeof(own)) < 0)
		return;
	while ((end = strrchr(own, '/')) &&
	       (end[1] == 0 || strlen(end) < 7 || strcmp(end + strlen(end) - 6, ".slice") != 0))
		*end = 0;
	if (end)
		snprintf(ret, size, "%s", end + 1);
}

static int append_props(sd_bus_message *m, const struct runcg *cg, pid_t pid)
{
	const struct runcg_limits *lim = &cg->lim;
	char desc[300], slice[256];
	int r;

	snprintf(desc, sizeof(desc), "cgproc run %s", cg->name);
	caller_slice(slice, sizeof(slice));
	r = sd_bus_message_open_container(m, 'a', "(sv)");
	if (r >= 0 && slice[0]) {
		runcg_verbose("Slice=%s", slice);
		r = sd_bus_message_append(m, "(sv)", "Slice", "s", slice);
	}
	if (r >= 0)
		r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)", "Description", "s", desc, "PIDs",
					  "au", 1, (uint32_t)pid, "Delegate", "b", 1, "CollectMode",
					  "s", "inactive-or-failed");
	if (r >= 0 && lim->memory)
		r = append_prop_u64(m, "MemoryMax", lim->memory);
	if (r >= 0 && lim->memory && lim->has_swap)
		r = append_prop_u64(m, "MemorySwapMax", lim->swap);
	if (r >= 0 && lim->cpus)
		r = append_cpus(m, lim->cpus);
	if (r >= 0 && lim->quota_us) {
		r = append_prop_u64(m, "CPUQuotaPerSecUSec",
				    lim->quota_us * 1000000 / lim->period_us);
		if (r >= 0)
			r = append_prop_u64(m, "CPUQuotaPeriodUSec", lim->period_us);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r;
}

/* Call Manager.@method(unit, mode, ...) and wait for its job. 0 when the job ended "done".
 * *@ret_queued: whether systemd took the call (a unit may exist now, even if its job failed). */
static int unit_job(struct runcg *cg, const char *method, pid_t pid, bool *ret_queued)
{
	sd_bus *bus = cg->bus;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_slot *slot = NULL;
	struct job_wait w = {.unit = cg->unit};
	bool start = pid > 0;
	int r;

	/* subscribed before the call, so that a job that ends at once is not missed */
	r = sd_bus_match_signal(bus, &slot, NULL, SD_PATH, SD_MANAGER, "JobRemoved", on_job_removed,
				&w);
	if (r >= 0)
		r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, method);
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", cg->unit, start ? "fail" : "replace");
	if (r >= 0 && start)
		r = append_props(m, cg, pid);
	if (r >= 0 && start)
		r = sd_bus_message_append(m, "a(sa(sv))", 0);
	if (r >= 0)
		r = sd_bus_call(bus, m, 0, &e, &reply);
	if (r < 0) {
		if (!start && sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit"))
			r = 0; /* gone already */
		else
			snprintf(cg->why, sizeof(cg->why), "%s %s: %s", method, cg->unit,
				 e.message ? e.message : strerror(-r));
		goto out;
	}
	*ret_queued = true;
	r = job_wait(bus, &w, start ? JOB_TIMEOUT_US : JOB_TIMEOUT_US / 12);
	if (r < 0)
		snprintf(cg->why, sizeof(cg->why), "%s %s: no end of its job: %s", method, cg->unit,
			 strerror(-r));
	else if (strcmp(w.result, "done") != 0) {
		snprintf(cg->why, sizeof(cg->why), "%s %s: its job ended \"%s\"", method, cg->unit,
			 w.result);
		r = -EIO;
	}
out:
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	sd_bus_slot_unref(slot);
	return r;
}

int runsd_start(struct runcg *cg, pid_t pid)
{
	bool queued = false;
	int r = unit_job(cg, "StartTransientUnit", pid, &queued);

	if (r < 0) {
		/* A half-made scope (its job failed or timed out) is not left behind; a refused
		 * call made none, and the unit of that name, if any, is someone else's. */
		char why[sizeof(cg->why)];

		memcpy(why, cg->why, sizeof(why));
		if (!queued) {
			sd_bus_flush_close_unref(cg->bus);
			cg->bus = NULL;
		}
		runsd_close(cg);
		memcpy(cg->why, why, sizeof(why));
		return r;
	}
	runcg_verbose("started %s", cg->unit);
	return 0;
}

void runsd_close(struct runcg *cg)
{
	bool queued = false;

	if (!cg->bus)
		return;
	if (unit_job(cg, "StopUnit", 0, &queued) < 0)
		runcg_err("cannot stop %s: %s", cg->unit, cg->why);
	else
		runcg_verbose("stopped %s", cg->unit);
	sd_bus_flush_close_unref(cg->bus);
	cg->bus = NULL;
}
#else
int runcg_systemd_probe(char *why, size_t size)
{
	snprintf(why, size, "cgproc was built without libsystemd");
	return -EOPNOTSUPP;
}

int runsd_open(struct runcg *cg)
{
	snprintf(cg->why, sizeof(cg->why), "cgproc was built without libsystemd");
	return -EOPNOTSUPP;
}

int runsd_start(struct runcg *cg, pid_t pid)
{
	(void)pid;
	return runsd_open(cg);
}

void runsd_close(struct runcg *cg)
{
	(void)cg;
}
#endif

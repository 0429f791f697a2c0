/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgprocd: the sampler daemon. Options, the run loop, signals, the pid file and privileges; the
 * pass itself is sampler.c. Foreground by default (systemd: tools/cgprocd/cgprocd.service), logs
 * to stderr (the journal adds the time; "<N>" level prefixes when stderr is the journal).
 *
 * SIGTERM/SIGINT end the loop after the current pass. The table is deliberately kept: readers
 * treat it as absent once it is CGTABLE_STALE_PERIODS periods old, which is exactly what removing
 * it would give them a few seconds later, while keeping it lets a restarted daemon (an upgrade, a
 * `systemctl restart`) resume every container's averages instead of restarting them from 0, and a
 * restart within three periods is invisible to readers. Removing it could also race with a new
 * instance that has already written its first table.
 *
 * SIGHUP re-reads the configuration file (keys "cgprocd_interval" and "rundir"; the run directory
 * only changes at a restart, because the lock and the readers' bind mounts are on it).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../cgproc/util.h"
#include "cgproc-config.h"
#include "choose.h"
#include "model/config.h"
#include "model/table.h"
#include "sampler.h"
#include "source/table.h"

#define INTERVAL_DEFAULT_S 5.0

static volatile sig_atomic_t got_term, got_hup;

static bool log_journal;

static void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (log_journal)
		fprintf(stderr, "<%d>", level);
	fputs("cgprocd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
#define log_err(...) log_msg(3, __VA_ARGS__)
#define log_warn(...) log_msg(4, __VA_ARGS__)
#define log_info(...) log_msg(6, __VA_ARGS__)

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

struct options {
	double interval;
	char rundir[256];
	char pidfile[256];
	char config[256];
	bool once, stats, dump;
	enum sampler_mode sampler;
	unsigned long passes; /* 0 = until stopped */
	bool set_interval, set_rundir, set_config;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cgprocd [OPTIONS]\n"
		"Sample every cgroup's load average and effective limits into a table that "
		"cgproc's\n"
		"shim and cgprocfs read.\n\n"
		"  -i, --interval SEC   seconds between passes (default 5; averages keep their\n"
		"                       1/5/15-minute meaning at any interval)\n"
		"  -r, --rundir DIR     directory of the table (default %s)\n"
		"  -p, --pidfile FILE   write the pid here, locked; refuse to start when it is "
		"locked\n"
		"  -c, --config FILE    configuration file (default %s)\n"
		"      --once           one pass, write the table, exit\n"
		"      --passes N       N passes at the interval, then exit (benchmarks: passes\n"
		"                       after the first reuse kept file descriptors)\n"
		"  -s, --sampler KIND   how threads are counted: auto (default: whichever costs\n"
		"                       the host less), proc (walk /proc), bpf (eBPF counters)\n"
		"      --stats          print each pass's CPU time and counts to stderr\n"
		"      --dump           print the table in the run directory and exit\n"
		"  -h, --help           this text\n"
		"  -V, --version        version\n",
		CGPROC_RUNDIR_DEFAULT, CGPROC_CONF_PATH);
}

static int parse_interval(const char *s, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.1 && v <= 3600))
		return -EINVAL;
	*ret = v;
	return 0;
}

/*
 * "key = value" lines; only our keys, everything else is someone else's. A missing default file
 * is fine; a file named with --config must exist. -errno only for that at startup.
 */
static int config_read(struct options *o, bool initial)
{
	FILE *f = fopen(o->config, "re");
	char line[1024];

	if (!f) {
		int r = -errno;

		if (r != -ENOENT || o->set_config) {
			log_msg(initial ? 3 : 4, "cannot read %s: %s", o->config, strerror(-r));
			return initial ? r : 0;
		}
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char key[64], val[512];

		if (sscanf(line, " %63[a-z_] = %511s", key, val) != 2)
			continue;
		if (strcmp(key, "cgprocd_interval") == 0 && !o->set_interval) {
			double v;

			if (parse_interval(val, &v) < 0)
				log_warn("%s: bad cgprocd_interval \"%s\", ignored", o->config,
					 val);
			else
				o->interval = v;
		} else if (strcmp(key, "rundir") == 0 && !o->set_rundir) {
			if (initial)
				snprintf(o->rundir, sizeof(o->rundir), "%s", val);
			else if (strcmp(val, o->rundir) != 0)
				log_warn("rundir changes at the next restart (now %s)", o->rundir);
		}
	}
	fclose(f);
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	enum {
		OPT_ONCE = 0x100,
		OPT_STATS,
		OPT_DUMP,
		OPT_PASSES
	};
	static const struct option longopts[] = {
		{"interval", required_argument, NULL, 'i'},
		{"rundir", required_argument, NULL, 'r'},
		{"pidfile", required_argument, NULL, 'p'},
		{"config", required_argument, NULL, 'c'},
		{"sampler", required_argument, NULL, 's'},
		{"once", no_argument, NULL, OPT_ONCE},
		{"passes", required_argument, NULL, OPT_PASSES},
		{"stats", no_argument, NULL, OPT_STATS},
		{"dump", no_argument, NULL, OPT_DUMP},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "i:r:p:c:s:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (strcmp(optarg, "auto") == 0)
				o->sampler = SAMPLER_AUTO;
			else if (strcmp(optarg, "bpf") == 0)
				o->sampler = SAMPLER_BPF;
			else if (strcmp(optarg, "proc") == 0)
				o->sampler = SAMPLER_PROC;
			else {
				fprintf(stderr,
					"cgprocd: --sampler wants bpf, proc or auto, not \"%s\"\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'i':
			if (parse_interval(optarg, &o->interval) < 0) {
				fprintf(stderr,
					"cgprocd: --interval wants seconds in 0.1..3600, not "
					"\"%s\"\n",
					optarg);
				return -EINVAL;
			}
			o->set_interval = true;
			break;
		case 'r':
		case 'p':
		case 'c': {
			char *dst = c == 'r' ? o->rundir : c == 'p' ? o->pidfile : o->config;

			if (!*optarg || strlen(optarg) >= sizeof(o->rundir)) {
				fprintf(stderr, "cgprocd: bad path \"%s\"\n", optarg);
				return -EINVAL;
			}
			strcpy(dst, optarg);
			o->set_rundir |= c == 'r';
			o->set_config |= c == 'c';
			break;
		}
		case OPT_ONCE:
			o->once = true;
			o->passes = 1;
			break;
		case OPT_PASSES: {
			char *end;

			errno = 0;
			o->passes = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || o->passes == 0 ||
			    o->passes > 1000000) {
				fprintf(stderr,
					"cgprocd: --passes wants a count in 1..1000000, not "
					"\"%s\"\n",
					optarg);
				return -EINVAL;
			}
			break;
		}
		case OPT_STATS:
			o->stats = true;
			break;
		case OPT_DUMP:
			o->dump = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("cgprocd %s\n", CGPROC_VERSION);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cgprocd: unexpected argument \"%s\"\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* flock()ed file with our pid in it. -EBUSY (and the holder's pid) when someone holds it. */
static int lock_file(const char *path, bool write_pid, pid_t *ret_holder)
{
	char b[32];
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		ssize_t n = pread(fd, b, sizeof(b) - 1, 0);

		*ret_holder = n > 0 ? (b[n] = 0, atoi(b)) : 0;
		close(fd);
		return r;
	}
	if (write_pid) {
		int n = snprintf(b, sizeof(b), "%d\n", (int)getpid());

		if (ftruncate(fd, 0) < 0 || pwrite(fd, b, (size_t)n, 0) != n) {
			int r = -errno;

			close(fd);
			return r;
		}
	}
	return fd;
}

/*
 * Keep only CAP_DAC_READ_SEARCH (read every cgroup and /proc file whatever its mode) and set
 * no_new_privs. Writing the table needs no capability: the run directory is ours (root's).
 */
static void drop_privileges(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	const unsigned keep = CAP_DAC_READ_SEARCH;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		log_warn("no_new_privs: %m");
	if (geteuid() != 0)
		return;
	for (unsigned long cap = 0; cap <= 63; cap++)
		if (cap != keep && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break; /* past the last capability this kernel knows */
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = 1u << keep;
	if (syscall(SYS_capset, &hdr, data) < 0)
		log_warn("cannot drop capabilities: %m");
}

static void stats_print(const struct sampler *s)
{
	const struct sampler_stats *st = &s->stats;

	/* One machine-readable line per pass (cgproc bench parses it): key=value, space separated
	 */
	fprintf(stderr,
		"cgprocd-stats pass=%llu sampler=%s cgroups=%llu entries=%zu threads=%llu "
		"vanished=%llu cpu_us=%llu wall_us=%llu cpu_us_per_kthread=%llu bytes=%llu "
		"walk_us=%llu write_us=%llu walk_cpu_us=%llu limits=%llu listed=%llu "
		"limits_us=%llu bpf_us=%llu file_us=%llu\n",
		(unsigned long long)st->pass, cgtable_sampler_name(sampler_kind(s)),
		(unsigned long long)st->cgroups, s->count, (unsigned long long)st->threads,
		(unsigned long long)st->vanished, (unsigned long long)st->cpu_us,
		(unsigned long long)st->wall_us,
		(unsigned long long)(st->threads ? st->cpu_us * 1000 / st->threads : 0),
		(unsigned long long)st->bytes, (unsigned long long)st->walk_us,
		(unsigned long long)st->write_us, (unsigned long long)st->walk_cpu_us,
		(unsigned long long)st->limits, (unsigned long long)st->listed,
		(unsigned long long)st->limits_us, (unsigned long long)st->bpf_us,
		(unsigned long long)st->file_us);
}

/*
 * --dump: the table as a reader sees it (validated), one line per entry:
 * "DEV INO FLAGS LOAD1 LOAD5 LOAD15 RUNNING TOTAL MEM SWAP QUOTA PERIOD CPUS" with loads as
 * fixed point, limits in bytes/us and "max" for none, CPUS as hex words (lowest first).
 */
static int dump_table(const char *rundir)
{
	struct cg_src src = {.rootfd = AT_FDCWD, .ticks_per_sec = 100};
	struct cgtable_header h;
	uint64_t now = 0;
	int fd, r;

	src.rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = cgtable_open(&src, rundir);
	if (fd < 0) {
		fprintf(stderr, "cgprocd: no table in %s: %s\n", rundir, strerror(-fd));
		close(src.rootfd);
		return 1;
	}
	r = cgtable_read_header(fd, &h);
	if (r < 0) {
		fprintf(stderr, "cgprocd: %s/%s is not a valid table\n", rundir, CGTABLE_FILE);
		goto out;
	}
	cgtable_now(&src, &now);
	printf("# version=%u sampler=%s count=%llu period_ns=%llu age_ns=%lld generation=%llu "
	       "fresh=%s\n",
	       h.version, cgtable_sampler_name(h.sampler), (unsigned long long)h.count,
	       (unsigned long long)h.period_ns, (long long)(now - h.heartbeat_ns),
	       (unsigned long long)h.generation, cgtable_fresh(&h, now) ? "yes" : "no");
	for (uint64_t i = 0; i < h.count; i++) {
		char raw[sizeof(struct cgtable_entry) + CPUSET_MAX / 8];
		struct cgtable_entry e;
		struct cpuset cs;

		if (pread(fd, raw, h.entry_size, (off_t)(h.header_size + i * h.entry_size)) !=
			    (ssize_t)h.entry_size ||
		    cgtable_entry_decode(&h, (struct span){raw, h.entry_size}, &e, &cs) < 0) {
			printf("# entry %llu corrupt\n", (unsigned long long)i);
			r = -ENODATA;
			continue;
		}
		printf("%llu %llu %#x %llu %llu %llu %llu %llu", (unsigned long long)e.dev,
		       (unsigned long long)e.ino, e.flags, (unsigned long long)e.load[0],
		       (unsigned long long)e.load[1], (unsigned long long)e.load[2],
		       (unsigned long long)e.running, (unsigned long long)e.total);
		{
			uint64_t v[4] = {e.mem_limit, e.swap_limit, e.quota_us, e.period_us};

			for (int k = 0; k < 4; k++)
				if (v[k] == UINT64_MAX)
					printf(" max");
				else
					printf(" %llu", (unsigned long long)v[k]);
		}
		putchar(' ');
		for (uint32_t w = 0; w < h.cpu_words; w++)
			printf("%s%llx", w ? "," : "", (unsigned long long)cs.bits[w]);
		putchar('\n');
	}
out:
	close(fd);
	close(src.rootfd);
	return r < 0 ? 1 : 0;
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* Delay between a new cgroup's mkdir and its extra pass: a runtime writes the limits of the
 * cgroup it just made within milliseconds, and a burst of mkdirs makes one pass. */
#define NEW_CGROUP_DELAY_NS UINT64_C(100000000)

/* SIGHUP: re-read the configuration; a new interval applies from the next pass on. */
/*
 * --sampler=auto, after a periodic pass: change samplers when choose.h says the other one costs
 * the host less. Needs the programs loaded (at the start, with the capabilities to load them) and
 * /proc/stat's count of context switches.
 */
static void auto_choose(struct sampler *s, const struct options *o)
{
	static struct choose chooser;
	static uint64_t last_ctxt;
	static bool have_ctxt;
	static char *buf;
	static size_t size;
	struct choose_cost cost;
	enum choose_verdict v;
	uint64_t ctxt;
	ssize_t n = -1;
	int fd, r;

	if (o->sampler != SAMPLER_AUTO || (!s->bpf && !s->bpf_idle))
		return;
	fd = openat(s->procfd, "stat", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = fd_read_to_end(fd, &buf, &size, 1 << 22, read);
		close(fd);
	}
	if (n < 0 || choose_parse_ctxt(buf, &ctxt) < 0)
		return;
	if (!have_ctxt || ctxt < last_ctxt) {
		have_ctxt = true;
		last_ctxt = ctxt;
		return;
	}
	v = choose_step(&chooser, s->bpf != NULL, s->stats.threads, ctxt - last_ctxt, &cost);
	last_ctxt = ctxt;
	if (v == CHOOSE_KEEP)
		return;
	r = sampler_use_bpf(s, v == CHOOSE_TO_BPF);
	if (r < 0) {
		log_warn("sampler: cannot attach the eBPF counter (%s): proc from now on",
			 strerror(-r));
		bpfcount_close(s->bpf_idle);
		s->bpf_idle = NULL;
		return;
	}
	choose_changed(&chooser);
	log_info("sampler: %s from now on (estimated CPU per pass: %.1f ms walking /proc for %llu "
		 "threads, %.1f ms in the eBPF counter for %llu context switches)",
		 v == CHOOSE_TO_BPF ? "bpf" : "proc", cost.proc_us / 1000,
		 (unsigned long long)s->stats.threads, cost.bpf_us / 1000,
		 (unsigned long long)(cost.bpf_us * 1000 / CHOOSE_BPF_NS_PER_SWITCH));
}

static void reload(struct sampler *s, struct options *o)
{
	got_hup = 0;
	(void)config_read(o, false);
	if ((uint64_t)(o->interval * 1e9) != s->period_ns) {
		sampler_set_period(s, (uint64_t)(o->interval * 1e9));
		log_info("interval now %.3g s", o->interval);
	}
}

/*
 * Sleep until @next (CLOCK_BOOTTIME) or a signal. true: the period is up (or we stop); false:
 * new cgroups appeared and deserve an extra pass now.
 */
static bool wait_until(struct sampler *s, struct options *o, uint64_t next)
{
	while (!got_term) {
		struct pollfd pfd = {.fd = s->inofd, .events = POLLIN};
		uint64_t now = boottime_ns(), left;
		struct timespec ts;
		int n;

		if (now >= next)
			return true;
		left = next - now;
		ts.tv_sec = (time_t)(left / 1000000000);
		ts.tv_nsec = (long)(left % 1000000000);
		n = ppoll(&pfd, s->inofd >= 0 ? 1 : 0, &ts, NULL);
		if (got_hup)
			reload(s, o);
		if (n <= 0 || !(pfd.revents & POLLIN))
			continue;
		if (left > NEW_CGROUP_DELAY_NS) {
			ts.tv_sec = 0;
			ts.tv_nsec = (long)NEW_CGROUP_DELAY_NS;
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !got_term)
				;
		}
		if (sampler_new_cgroups(s))
			return boottime_ns() >= next;
	}
	return true;
}

int main(int argc, char **argv)
{
	struct options o = {.interval = INTERVAL_DEFAULT_S, .sampler = SAMPLER_AUTO};
	struct sigaction sa = {.sa_handler = on_signal};
	struct sampler s;
	char err[512], lockpath[512];
	int pidfd = -1, lockfd, r, last_err;
	pid_t holder = 0;
	uint64_t next, periodic = 0;
	bool step = true, warned_watches = false;

	log_journal = getenv("JOURNAL_STREAM") != NULL;
	snprintf(o.rundir, sizeof(o.rundir), "%s", CGPROC_RUNDIR_DEFAULT);
	snprintf(o.config, sizeof(o.config), "%s", CGPROC_CONF_PATH);
	r = parse_args(argc, argv, &o);
	if (r != 0)
		return r > 0 ? EXIT_SUCCESS : 2;
	if (config_read(&o, true) < 0)
		return 1;
	if (o.dump)
		return dump_table(o.rundir);

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (o.pidfile[0]) {
		pidfd = lock_file(o.pidfile, true, &holder);
		if (pidfd < 0) {
			if (pidfd == -EBUSY)
				log_err("already running (pid %d holds %s)", (int)holder,
					o.pidfile);
			else
				log_err("cannot open pid file %s: %s", o.pidfile, strerror(-pidfd));
			return 1;
		}
	}
	/* auto decides between periodic passes: one pass is a /proc walk, without loading the
	 * programs (~0.1 s) for nothing */
	if (o.once && o.sampler == SAMPLER_AUTO)
		o.sampler = SAMPLER_PROC;
	r = sampler_init(&s, o.rundir, (uint64_t)(o.interval * 1e9), o.sampler, err, sizeof(err));
	if (r < 0) {
		log_err("%s", err);
		return 1;
	}
	if (o.sampler == SAMPLER_AUTO && !s.bpf_idle)
		log_info("sampler: proc (walks /proc; the BPF sampler did not load: %s)",
			 s.bpf_err);
	else if (o.sampler == SAMPLER_AUTO && !o.once)
		log_info("sampler: auto, proc to start with (the eBPF counter is loaded, and "
			 "attached when it would cost the host less)");
	else if (!o.once)
		log_info("sampler: %s", cgtable_sampler_name(sampler_kind(&s)));
	/* One writer per run directory, pid file or not. */
	snprintf(lockpath, sizeof(lockpath), "%s/.lock", o.rundir);
	lockfd = lock_file(lockpath, true, &holder);
	if (lockfd < 0) {
		if (lockfd == -EBUSY)
			log_err("another cgprocd (pid %d) writes %s", (int)holder, o.rundir);
		else
			log_err("cannot lock %s: %s", lockpath, strerror(-lockfd));
		sampler_done(&s);
		return 1;
	}
	drop_privileges();
	if (!o.once)
		log_info("sampling every %.3g s into %s/%s (%u hierarchies)", o.interval, o.rundir,
			 CGTABLE_FILE, s.nhier);

	next = boottime_ns();
	last_err = 0;
	while (!got_term) {
		bool had_bpf = s.bpf != NULL;

		r = sampler_pass(&s, step);
		if (had_bpf && !s.bpf && !s.bpf_idle)
			log_warn("sampler: proc from now on (%s)", s.bpf_err);
		if (step)
			auto_choose(&s, &o);
		/* Once per outage, not once per pass: a read-only or full run directory would
		 * otherwise log every few seconds for as long as it lasts. Sampling goes on, so the
		 * averages are right again at the first pass that can write. */
		if (r < 0 && r != last_err)
			log_err("cannot write %s/%s: %s (sampling goes on; logged once)", o.rundir,
				CGTABLE_FILE, strerror(-r));
		else if (r >= 0 && last_err < 0)
			log_info("writing %s/%s again", o.rundir, CGTABLE_FILE);
		last_err = r < 0 ? r : 0;
		if (s.ino_full && !warned_watches) {
			log_warn("out of inotify watches (fs.inotify.max_user_watches): some new "
				 "cgroups get their entry at the next pass only");
			warned_watches = true;
		}
		if (o.stats)
			stats_print(&s);
		if (step)
			periodic++;
		if (o.passes && periodic >= o.passes)
			break;

		/* Fixed schedule (a slow pass does not stretch the period as it does in lxcfs);
		 * when we fell a whole period behind (suspend, overload) restart the schedule from
		 * now. */
		if (step) {
			uint64_t now = boottime_ns();

			next += s.period_ns;
			if (now > next)
				next = now + s.period_ns;
		}
		step = wait_until(&s, &o, next);
	}
	if (!o.once)
		log_info("stopping; %s/%s is kept and goes stale in %d periods", o.rundir,
			 CGTABLE_FILE, CGTABLE_STALE_PERIODS);
	sampler_done(&s);
	if (o.pidfile[0])
		unlink(o.pidfile);
	if (pidfd >= 0)
		close(pidfd);
	close(lockfd);
	return r < 0 && o.once ? 1 : 0;
}

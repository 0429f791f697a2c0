#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# A real LXC system container with cgproc: Debian bookworm (minbase + systemd, the cached
# debootstrap tarball of tests/containers/rootfs.sh) in a directory rootfs, 512 MiB and CPU 0,
# no network, the cgproc include (00-cgproc.conf as built, its hook run from the build tree with
# the build's shim and a private run directory served by a private cgprocd).
# Checks: systemd reaches "running" within 60 s with no failed unit; PID 1 has the shim mapped and
# computes MemoryMax=50% from 512 MiB; free, nproc, uptime, loadavg, Python and systemd-analyze
# through lxc-attach; /run/cgproc and /etc/ld.so.preload are read-only; the hook's mounts stay in
# the container; lxc-stop, a second lxc-start (the image now has an /etc/ld.so.preload of its
# own, which must be kept) and a reboot from inside; and the rootfs unchanged by the hook:
# byte-identical around a start whose init only prints /etc/ld.so.preload, and around the systemd
# boots except for the files systemd itself writes while booting (listed in the output).
# Everything is made under unique names in a temporary directory and removed even on failure.
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctest import Tap, listing_diff, preflight, run, source_root, tree_listing  # noqa: E402

SHIM_IN_CONTAINER = "/run/host/cgproc/libcgproc.so"
# What systemd and its units write into a Debian rootfs while booting and shutting down: the
# machine id it commits, the persistent journal, timer stamps, utmp/wtmp records, and the
# directories systemd-tmpfiles creates. Never anything of cgproc's.
GUEST_WRITES = ("etc/machine-id", "var/log/journal", "var/lib/systemd/", "var/log/wtmp",
                "var/log/btmp", "var/log/lastlog", "tmp/", "var/tmp/", "var/lib/dbus/machine-id")

tap = Tap()
src = source_root()
build = os.environ.get("CGPROC_BUILD_ROOT") or os.path.join(src, "build")


def host_layout():
    """'v1' when the memory controller is on a v1 hierarchy (hybrid or legacy), else 'v2'."""
    if os.path.exists("/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        return "v1"
    return "v2"


class Container:
    def __init__(self, tmp, name):
        self.tmp = tmp
        self.name = name
        self.lxcpath = os.path.join(tmp, "lxc")
        self.rootfs = os.path.join(tmp, "rootfs")
        self.base = ["-P", self.lxcpath, "-n", name]

    def attach(self, *cmd, timeout=60):
        return run(["lxc-attach"] + self.base + ["--"] + list(cmd), timeout=timeout)

    def out(self, *cmd):
        p = self.attach(*cmd)
        return p.stdout.strip() if p.returncode == 0 else "exit %d: %s%s" % (
            p.returncode, p.stdout, p.stderr)

    def state(self):
        p = run(["lxc-info", "-s", "-H"] + self.base)
        return p.stdout.strip()

    def init_pid(self):
        p = run(["lxc-info", "-p", "-H"] + self.base)
        return p.stdout.strip()

    def start(self):
        p = run(["lxc-start"] + self.base, timeout=60)
        self.started = time.time()
        return p

    def wait_running(self, limit=60):
        """systemctl is-system-running once it settles (running, degraded), or the last answer."""
        deadline = time.time() + limit
        last = ""
        while time.time() < deadline:
            p = self.attach("systemctl", "is-system-running", timeout=30)
            last = (p.stdout.strip() or p.stderr.strip())
            if last in ("running", "degraded"):
                return last
            time.sleep(1)
        return last

    def stop(self):
        return run(["lxc-stop"] + self.base, timeout=120)


def write_config(c, include):
    os.makedirs(os.path.join(c.lxcpath, c.name))
    if host_layout() == "v1":
        limits = "lxc.cgroup.memory.limit_in_bytes = 512M\nlxc.cgroup.cpuset.cpus = 0\n"
    else:
        limits = "lxc.cgroup2.memory.max = 512M\nlxc.cgroup2.cpuset.cpus = 0\n"
    with open(os.path.join(c.lxcpath, c.name, "config"), "w") as f:
        f.write("lxc.include = /usr/share/lxc/config/common.conf\n"
                "lxc.arch = linux64\n"
                "lxc.uts.name = %s\n"
                "lxc.rootfs.path = dir:%s\n"
                "lxc.net.0.type = empty\n"
                "%s"
                "lxc.include = %s\n"
                "lxc.log.file = %s\n"
                "lxc.log.level = INFO\n"
                "lxc.console.logfile = %s\n" % (
                    c.name, c.rootfs, limits, include, os.path.join(c.tmp, "lxc.log"),
                    os.path.join(c.tmp, "console.log")))


def make_include(tmp, rundir, statedir):
    """00-cgproc.conf as meson built it, its hook path pointing into the build tree."""
    hook_src = os.path.join(build, "tools", "lxc", "cgproc-lxc-hook")
    hook = os.path.join(tmp, "bin", "cgproc-lxc-hook")
    os.makedirs(os.path.dirname(hook))
    shutil.copy(hook_src, hook)
    os.chmod(hook, 0o755)
    cmd = "%s --shim %s --rundir %s --statedir %s" % (
        hook, os.path.join(build, "preload", "libcgproc.so"), rundir, statedir)
    with open(os.path.join(build, "tools", "lxc", "00-cgproc.conf")) as f:
        conf = f.read()
    lines = conf.splitlines()
    keys = [line.split("=", 1)[0].strip() for line in lines if line and not line.startswith("#")]
    tap.eq(sorted(keys), ["lxc.hook.mount", "lxc.hook.post-stop", "lxc.mount.auto"],
           "00-cgproc.conf sets")
    out = [line.split("=", 1)[0] + "= " + cmd if line.startswith("lxc.hook") else line
           for line in lines]
    path = os.path.join(tmp, "00-cgproc.conf")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return path


def check_guest_writes(before, after, what):
    changed = listing_diff(before, after)
    foreign = [p for p in changed if not p.startswith(GUEST_WRITES)]
    tap.diag("%s: %d paths changed by the guest's own boot: %s" % (
        what, len(changed), " ".join(changed[:40])))
    tap.ok(not foreign, "%s: rootfs unchanged but for systemd's own writes" % what,
           "\n".join(foreign))
    tap.ok(not any("cgproc" in p or "ld.so.preload" in p for p in changed),
           "%s: nothing of cgproc's left in the rootfs" % what, "\n".join(changed))


def check_view(c, what):
    free = c.out("free", "-k").splitlines()
    mem = [line.split() for line in free if line.startswith("Mem:")]
    tap.eq(mem[0][1] if mem else free, "524288", "%s: free -k total" % what)
    tap.eq(c.out("nproc", "--all"), "1", "%s: nproc --all" % what)
    tap.eq(c.out("python3", "-c", "import os; print(os.cpu_count())"), "1",
           "%s: python3 os.cpu_count()" % what)
    stat = c.out("cat", "/proc/stat").splitlines()
    tap.eq([line.split()[0] for line in stat if re.match(r"cpu\d", line)], ["cpu0"],
           "%s: /proc/stat CPU lines" % what)
    maps = c.out("cat", "/proc/1/maps")
    tap.ok(SHIM_IN_CONTAINER in maps, "%s: PID 1 (systemd) has the shim mapped" % what)
    # uptime: minutes since this start of the container, not the host's
    up = c.out("uptime")
    elapsed = time.time() - c.started
    m = re.search(r"up\s+(?:(\d+) min|(\d+):(\d+),)", up)
    minutes = None
    if m:
        minutes = int(m.group(1)) if m.group(1) else int(m.group(2)) * 60 + int(m.group(3))
    tap.ok(minutes is not None and abs(minutes - int(elapsed // 60)) <= 1,
           "%s: uptime %r, %.0f s after lxc-start" % (what, up, elapsed))
    secs = c.out("cut", "-d", " ", "-f1", "/proc/uptime")
    try:
        secs = float(secs)
    except ValueError:
        secs = -1
    tap.ok(0 <= secs <= elapsed + 2, "%s: /proc/uptime %s <= %.1f s since lxc-start" % (
        what, secs, elapsed))


def test_boot(c, rundir):
    p = c.start()
    if not tap.ok(p.returncode == 0, "lxc-start", p.stdout + p.stderr):
        return False
    state = c.wait_running(60)
    if state != "running":
        tap.diag(c.out("systemctl", "--failed", "--no-pager"))
    tap.eq(state, "running", "systemctl is-system-running within 60 s")
    tap.eq(c.out("systemctl", "--failed", "--plain", "--no-legend", "--no-pager"), "",
           "systemctl --failed")
    check_view(c, "boot")
    sa = c.attach("systemd-analyze")
    tap.ok(sa.returncode == 0 and "Startup finished" in sa.stdout,
           "systemd-analyze: " + sa.stdout.strip().splitlines()[0] if sa.stdout else "",
           sa.stderr)
    tap.eq(c.out("cat", "/etc/ld.so.preload"), SHIM_IN_CONTAINER,
           "/etc/ld.so.preload in the container")
    # /proc/meminfo comes from the shim, not from an lxcfs mount the host's hooks could add
    fm = c.attach("findmnt", "-n", "-o", "FSTYPE", "/proc/meminfo")
    tap.ok(fm.returncode == 1 and not fm.stdout.strip(), "/proc/meminfo is no mount: %r" % (
        fm.stdout.strip(),))
    # PID 1 sizes percentages from what sysconf(_SC_PHYS_PAGES) says: 50% of 512 MiB
    c.attach("systemd-run", "-p", "MemoryMax=50%", "--unit", "cgproc-half", "sleep", "600")
    tap.eq(c.out("systemctl", "show", "-p", "MemoryMax", "cgproc-half"),
           "MemoryMax=%d" % (256 << 20), "PID 1: MemoryMax=50%")
    c.attach("systemctl", "stop", "cgproc-half")
    # read-only binds: the container cannot change the table or its preload list
    for path in ("/run/cgproc/x", "/etc/ld.so.preload"):
        w = c.attach("sh", "-c", "echo >>" + path)
        tap.ok(w.returncode != 0 and "Read-only" in w.stderr,
               "writing %s fails: %s" % (path, w.stderr.strip()))
    # cgprocd's table through /run/cgproc: loadavg's thread count is the container's
    la = c.out("cat", "/proc/loadavg").split()
    with open("/proc/loadavg") as f:
        host_la = f.read().split()
    tap.ok(len(la) == 5 and int(la[3].split("/")[1]) < int(host_la[3].split("/")[1]),
           "loadavg threads %s (host %s): the container's, from the table" % (
               la[3] if len(la) > 3 else la, host_la[3]))
    # the hook mounted in the container's mount namespace only
    with open("/proc/self/mountinfo") as f:
        leaked = [line for line in f if c.rootfs in line or c.tmp + "/" in line.split()[4]]
    tap.ok(not leaked, "no mount of the container's visible on the host", "".join(leaked))
    return True


def test_reboot(c):
    pid = c.init_pid()
    c.attach("systemctl", "reboot")
    deadline = time.time() + 60
    while time.time() < deadline:
        now = c.init_pid()
        if now and now != pid and c.state() == "RUNNING":
            break
        time.sleep(0.5)
    c.started = time.time()
    tap.ok(c.init_pid() != pid, "reboot from inside: a new init (%s, was %s)" % (
        c.init_pid(), pid))
    tap.eq(c.wait_running(60), "running", "after the reboot: systemctl is-system-running")
    check_view(c, "after reboot")


def main():
    tarball = preflight(tap, ("lxc-start", "lxc-attach", "lxc-stop", "lxc-info", "findmnt"),
                        "tools/install-deps")
    if not os.path.exists(os.path.join(build, "preload", "libcgproc.so")):
        tap.cannot_run("no build at " + build)

    tmp = tempfile.mkdtemp(prefix="cgproc-lxc-")
    c = Container(tmp, "cgproc-test-%d" % os.getpid())
    cgprocd = cgprocfs = None
    try:
        rundir = os.path.join(tmp, "run")
        statedir = os.path.join(tmp, "state")
        os.makedirs(rundir)
        os.makedirs(c.rootfs)
        run(["tar", "-C", c.rootfs, "--numeric-owner", "-xf", tarball], timeout=600, check=True)
        cgprocd = subprocess.Popen([os.path.join(build, "tools", "cgprocd"), "--rundir", rundir,
                                    "--interval", "1"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        write_config(c, make_include(tmp, rundir, statedir))
        key_dirs = lambda: os.listdir(statedir) if os.path.isdir(statedir) else []  # noqa: E731

        # 1. the hooks alone, strictly: a second hook line binds cgprocfs's files (--fuse), and
        # an init that is a static busybox (no shim) prints the preload list and /proc/meminfo;
        # new-style hooks (lxc.hook.version 1: the hook type in LXC_HOOK_TYPE, no arguments)
        fusedir = os.path.join(tmp, "fuse")
        os.makedirs(fusedir)
        cgprocfs = subprocess.Popen([os.path.join(build, "tools", "cgprocfs", "cgprocfs"), "-q",
                                     fusedir], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(100):
            if run(["findmnt", fusedir]).returncode == 0:
                break
            time.sleep(0.1)
        hook = os.path.join(tmp, "bin", "cgproc-lxc-hook")
        before = tree_listing(c.rootfs)
        fg = run(["lxc-start", "-F"] + c.base + [
            "-s", "lxc.hook.version=1",
            "-s", "lxc.hook.mount=%s --fuse --no-preload --fusedir %s" % (hook, fusedir),
            "-s", "lxc.init.cmd=/bin/busybox cat /etc/ld.so.preload /proc/meminfo"],
            timeout=120, stdin=subprocess.DEVNULL)
        with open(os.path.join(tmp, "console.log"), errors="replace") as f:
            console = f.read()
        tap.ok(fg.returncode == 0 and SHIM_IN_CONTAINER in console,
               "a start with init = busybox cat /etc/ld.so.preload: the shim", fg.stderr + console)
        tap.ok(re.search(r"MemTotal:\s+524288 kB", console) is not None,
               "--fuse: a static program reads MemTotal 524288 kB from cgprocfs", console)
        tap.eq(listing_diff(before, tree_listing(c.rootfs)), [],
               "rootfs byte-identical around that start (mount and post-stop hooks)")
        tap.eq(key_dirs(), [], "post-stop removed the container's state directory")
        cgprocfs.terminate()
        cgprocfs.wait(20)
        if run(["findmnt", fusedir]).returncode == 0:
            run(["umount", "-l", fusedir])

        # 2. systemd boot, checks, stop
        before = tree_listing(c.rootfs)
        if test_boot(c, rundir):
            p = c.stop()
            tap.ok(p.returncode == 0 and c.state() == "STOPPED", "lxc-stop", p.stderr)
            check_guest_writes(before, tree_listing(c.rootfs), "first boot")
            tap.eq(key_dirs(), [], "post-stop removed the container's state directory")

        # 3. the image gains an /etc/ld.so.preload of its own (a harmless glibc stub library):
        # a second lxc-start keeps its entry first, a reboot from inside keeps working
        own = "/lib/x86_64-linux-gnu/libdl.so.2"
        with open(os.path.join(c.rootfs, "etc", "ld.so.preload"), "w") as f:
            f.write(own + "\n")
        before = tree_listing(c.rootfs)
        p = c.start()
        if tap.ok(p.returncode == 0, "second lxc-start", p.stderr):
            tap.eq(c.wait_running(60), "running", "second start: systemctl is-system-running")
            tap.eq(c.out("cat", "/etc/ld.so.preload"), own + "\n" + SHIM_IN_CONTAINER,
                   "second start: the image's entry kept, the shim added")
            check_view(c, "second start")
            test_reboot(c)
            p = c.stop()
            tap.ok(p.returncode == 0 and c.state() == "STOPPED", "lxc-stop after the reboot")
            check_guest_writes(before, tree_listing(c.rootfs), "second start and reboot")
    except Exception as e:  # a broken step is a failure, never an exception past the cleanup
        tap.ok(False, "test step raised %s: %s" % (type(e).__name__, e))
    finally:
        if c.state() not in ("STOPPED", ""):
            run(["lxc-stop", "-k"] + c.base, timeout=60)
        for daemon in (cgprocd, cgprocfs):
            if daemon and daemon.poll() is None:
                os.kill(daemon.pid, signal.SIGTERM)
                daemon.wait(20)
        fusedir = os.path.join(tmp, "fuse")
        if run(["findmnt", fusedir]).returncode == 0:
            run(["umount", "-l", fusedir])
        shutil.rmtree(tmp, ignore_errors=True)
        # LXC removes its cgroups when the container stops; check nothing of ours is left
        left = [d for d in ("/sys/fs/cgroup/memory/lxc.payload." + c.name,
                            "/sys/fs/cgroup/unified/lxc.payload." + c.name,
                            "/sys/fs/cgroup/lxc.payload." + c.name) if os.path.isdir(d)]
        tap.ok(not left and not os.path.exists(tmp), "cleaned up", " ".join(left))
    tap.done()


main()

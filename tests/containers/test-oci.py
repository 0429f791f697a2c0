#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Containers get the cgproc view through real runtimes (suite 'containers', root, TAP).

Podman 4.3 + runc with a hooks.d directory (--hooks-dir), runc directly with a bundle whose
config.json went through `cgproc oci-runtime`, the sysinfo agent on a private socket, and a
private dockerd with the wrapper as a runtime. Images are `podman import`/`docker import`s of
the debootstrap tarball tests/containers/rootfs.sh prints, plus a static-busybox image made here.
Everything is created under a unique name (cgproc-oci-<pid>) and removed at the end, also when a
test fails. Under CI=true a missing runtime is a failure, not a skip.

Usage: test-oci.py [GROUP...]   groups: hook podman runc docker containerd cdi (default: all)
"""
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("CGPROC_BUILD_ROOT", os.path.abspath("build"))
SRC = os.environ.get("CGPROC_SOURCE_ROOT", os.path.abspath("."))
CGPROC = os.path.join(BUILD, "tools", "cgproc")
CGPROCFS = os.path.join(BUILD, "tools", "cgprocfs", "cgprocfs")
PROBE = os.path.join(BUILD, "tests", "client", "static-probe")
UNIQUE = "cgproc-oci-%d" % os.getpid()
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
LIMITS = ["--memory", "512m", "--cpuset-cpus", "0"]
MEM_KB = 524288
CI = os.environ.get("CI") == "true"

sys.dont_write_bytecode = True  # nothing compiled in the source tree
sys.path.insert(0, os.path.join(SRC, "tests", "system"))
from ctest import run  # noqa: E402  (the container tests' one subprocess helper)

cleanups = []
results = []
tmp = tempfile.mkdtemp(prefix="/tmp/%s-" % UNIQUE)
cleanups.append(lambda: shutil.rmtree(tmp, ignore_errors=True))


def cleanup():
    while cleanups:
        fn = cleanups.pop()
        try:
            fn()
        except Exception as e:  # keep undoing the rest
            print("# cleanup: %r" % e)


atexit.register(cleanup)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))


def stop_process(proc, timeout):
    """Ends a process this script started: SIGTERM, SIGKILL after @timeout seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def have(prog):
    return shutil.which(prog) is not None


class Skip(Exception):
    pass


def need(ok, why):
    if not ok:
        if CI:
            raise AssertionError("cannot run under CI=true: " + why)
        raise Skip(why)


def test(fn):
    results.append(fn)
    return fn


def mem_total_kb(free_k):
    """The 'total' column of the Mem: line of `free -k` (procps or busybox)."""
    for line in free_k.splitlines():
        if line.startswith("Mem:"):
            return int(line.split()[1])
    raise AssertionError("no Mem: line in %r" % free_k)


def probe_values(out):
    return {k: int(v) for k, v in re.findall(r"^(\w+) (-?\d+)$", out, re.M)}


def host_mem_kb():
    with open("/proc/meminfo") as f:
        return int(f.readline().split()[1])


# A script that shows the view from inside, one "key value" per line.
VIEW_SH = r"""
echo "free_total $(free -k | awk '/^Mem:/ {print $2}')"
echo "nproc_all $(nproc --all)"
echo "py_cpus $(python3 -c 'import os; print(os.cpu_count())')"
echo "uptime_s $(cut -d. -f1 /proc/uptime)"
"""

BUSYBOX_SH = r"""
echo "bb_free_total $(free | awk '/^Mem:/ {print $2}')"
echo "meminfo_total $(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
echo "cpu_online_is_0 $(test "$(cat /sys/devices/system/cpu/online)" = 0 && echo 1 || echo 0)"
echo "uptime_s $(cut -d. -f1 /proc/uptime)"
echo "ls_cpu0 $(ls /sys/devices/system/cpu | grep -c '^cpu0$')"
echo "ls_cpu1 $(ls /sys/devices/system/cpu | grep -c '^cpu1$')"
/probe
"""


def values(out):
    return {k: int(v) for k, v in re.findall(r"^(\w+) (-?\d+)\s*$", out, re.M)}


# ---------------------------------------------------------------- shared fixtures

_images = {}


def rootfs_tar():
    p = run([os.path.join(SRC, "tests", "containers", "rootfs.sh")], timeout=900, check=True)
    return p.stdout.strip()


def busybox_tar():
    path = os.path.join(tmp, "busybox.tar")
    if not os.path.exists(path):
        root = os.path.join(tmp, "busybox-root")
        for d in ("bin", "proc", "sys", "dev", "etc", "tmp", "run"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        shutil.copy2("/bin/busybox", os.path.join(root, "bin", "busybox"))
        for applet in ("sh", "free", "uptime", "cat", "awk", "cut", "test", "nproc", "sleep"):
            os.symlink("busybox", os.path.join(root, "bin", applet))
        run(["tar", "-C", root, "--numeric-owner", "-cf", path, "."], check=True)
    return path


def engine_image(engine, kind):
    """Imports the glibc or the busybox image into podman or docker once; removed at the end."""
    key = (engine[0], kind)
    if key not in _images:
        name = "localhost/%s:%s" % (UNIQUE, kind)
        tar = rootfs_tar() if kind == "glibc" else busybox_tar()
        quiet = ["-q"] if engine[0] == "podman" else []
        run(engine + ["import"] + quiet + [tar, name], timeout=600, check=True)
        cleanups.append(lambda: run(engine + ["rmi", "-f", name], timeout=120))
        _images[key] = name
    return _images[key]


def hooks_dir(name, hook_args, when=None, env=None):
    """A hooks.d directory with the installed annotation-triggered file, pointed at the build."""
    d = os.path.join(tmp, "hooks-" + name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(BUILD, "tools", "cgproc-oci-hook.json")) as f:
        spec = json.load(f)
    spec["hook"]["path"] = CGPROC
    spec["hook"]["args"] = ["oci-hook"] + hook_args
    if env:
        spec["hook"]["env"] = env
    if when:
        spec["when"] = when
    with open(os.path.join(d, "cgproc.json"), "w") as f:
        json.dump(spec, f)
    return d


class Agent:
    """A private sysinfo agent on a socket under tmp."""

    def __init__(self, name="agent", sock=None):
        self.sock = sock or os.path.join(tmp, name + ".sock")
        self.log = os.path.join(tmp, name + ".log")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([CGPROC, "sysinfo-agent", "--verbose", "--socket",
                                      self.sock], stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "a"))
        cleanups.append(self.stop)
        for _ in range(200):
            if os.path.exists(self.sock):
                return self
            time.sleep(0.01)
        raise AssertionError("the agent did not listen")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self):
        with open(self.log) as f:
            return f.read()[-2000:]

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def threads(self):
        return len(os.listdir("/proc/%d/task" % self.proc.pid))


def wrapper_script(agent, hook_log, name="cgproc-runc"):
    """An executable the engines take as their runtime: the wrapper with the test's agent."""
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec %s oci-runtime --cgproc-agent %s --cgproc-hook-log %s "
                "--cgproc-runtime %s \"$@\"\n" % (CGPROC, agent.sock, hook_log,
                                                  shutil.which("runc")))
    os.chmod(path, 0o755)
    return path


def hook_times(log):
    """The hook's own durations (us) from its --log lines."""
    try:
        with open(log) as f:
            return [int(x) for x in re.findall(r": (?:done|not applied), (\d+) us", f.read())]
    except FileNotFoundError:
        return []


def assert_view(v, where):
    assert v.get("free_total") == MEM_KB, "%s: free -k total %r" % (where, v)
    assert v.get("nproc_all") == 1, "%s: nproc --all %r" % (where, v)
    assert v.get("py_cpus") == 1, "%s: os.cpu_count() %r" % (where, v)
    assert 0 <= v.get("uptime_s", -1) < 60, "%s: uptime %r" % (where, v)


def assert_host_view(v, where):
    assert v.get("free_total") == host_mem_kb(), "%s: want the host's memory: %r" % (where, v)


# ---------------------------------------------------------------- the hook alone

@test
def hook_bad_input_is_logged_and_exits_0():
    """Malformed state or config.json: a message, exit 0, nothing bound."""
    b = os.path.join(tmp, "bad-bundle")
    os.makedirs(b, exist_ok=True)
    log = os.path.join(tmp, "bad-input.log")
    cases = [
        ("", None, "not valid JSON"),
        ("{", None, "not valid JSON"),
        ("[" * 100000, None, "not valid JSON"),
        ('{"id":"x","pid":1}', None, "no bundle or pid"),
        ('{"id":"x","bundle":"%s","pid":"1"}' % b, None, "no bundle or pid"),
        ('{"id":"x","bundle":"%s","pid":-1}' % b, None, "no bundle or pid"),
        # pid 0 (crun's createContainer state) from the runtime's namespaces: nothing to enter
        ('{"id":"x","bundle":"%s","pid":0}' % b, '{"root":{"path":"/"}}',
         "cannot enter the mount namespace of pid 0"),
        ('{"id":"x","bundle":"%s","pid":PID}' % b, "{\"root\":", "cannot load"),
        ('{"id":"x","bundle":"%s","pid":PID}' % b, '{"root":{}}', "no root.path"),
        ('{"id":"x","bundle":"%s","pid":PID}' % b, '{"root":{"path":"/nonexistent"}}',
         "cannot open the rootfs"),
        ('{"id":"x","bundle":"/nonexistent","pid":PID}', None, "cannot load"),
        ('{"id":"x","bundle":"%s","pid":PID,"annotations":{"io.cgproc.view":7}}' % b,
         '{"root":{"path":"/"}}', "is not one of"),
    ]
    for state, config, want in cases:
        if config is not None:
            with open(os.path.join(b, "config.json"), "w") as f:
                f.write(config)
        open(log, "w").close()
        # its own mount namespace, so that nothing could reach the host's even on a bug; PID
        # is the hook's pid there, as a runtime-namespace hook would get it
        p = run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                 'sed "s/PID/$$/" | exec "$0" oci-hook --log="$1"', CGPROC, log], input=state)
        with open(log) as f:
            text = f.read()
        assert p.returncode == 0, (state[:40], p.returncode, p.stderr)
        assert want in text, (state[:40], config, text)
        assert "done" not in text, text


@test
def hook_contrib_snippets_parse():
    """contrib/kubernetes: the runtime handler snippets parse and name the installed wrapper."""
    import tomllib
    k = os.path.join(SRC, "contrib", "kubernetes")
    with open(os.path.join(k, "containerd.toml"), "rb") as f:
        c = tomllib.load(f)
    rt = c["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["cgproc"]
    assert rt["runtime_type"] == "io.containerd.runc.v2"
    assert rt["options"]["BinaryName"].endswith("/libexec/cgproc/cgproc-runc")
    with open(os.path.join(k, "crio.conf"), "rb") as f:
        c = tomllib.load(f)
    path = c["crio"]["runtime"]["runtimes"]["cgproc"]["runtime_path"]
    assert path.endswith("/libexec/cgproc/cgproc-runc"), path
    with open(os.path.join(k, "runtimeclass.yaml")) as f:
        assert re.search(r"^handler: cgproc$", f.read(), re.M)


# ---------------------------------------------------------------- podman

def podman(*args, hooks=None, runtime="runc", timeout=180):
    argv = ["podman", "--runtime", runtime]
    if hooks:
        argv += ["--hooks-dir", hooks]
    return run(argv + list(args), timeout=timeout)


def podman_view(hooks, image, script, extra=(), runtime="runc"):
    p = podman("run", "--rm", "--network", "none", *ULIMITS, *LIMITS, *extra,
               "-v", PROBE + ":/probe:ro", image, "sh", "-c", script,
               hooks=hooks, runtime=runtime)
    assert p.returncode == 0, "podman run: %d\n%s%s" % (p.returncode, p.stdout, p.stderr)
    return values(p.stdout)


def need_podman():
    need(have("podman") and have("runc"), "podman and runc are not installed")


@test
def podman_hooks_d_annotation_shim():
    """hooks.d + io.cgproc.view: glibc image sees 512 MiB, 1 CPU, a young uptime."""
    need_podman()
    log = os.path.join(tmp, "podman-hook.log")
    rundir = os.path.join(tmp, "rundir")  # stands for cgprocd's /run/cgproc
    os.makedirs(rundir, exist_ok=True)
    with open(os.path.join(rundir, "table"), "w") as f:
        f.write("42\n")
    hooks = hooks_dir("podman", ["--log=" + log, "--rundir=" + rundir])
    image = engine_image(["podman"], "glibc")
    v = podman_view(hooks, image, VIEW_SH + 'echo "table $(cat %s/table)"; touch %s/x 2>/dev/null;'
                    ' echo "rundir_writable $((1 - $?))"' % (rundir, rundir),
                    ["--annotation", "io.cgproc.view=auto"])
    assert_view(v, "podman, annotation auto")
    assert v["table"] == 42 and v["rundir_writable"] == 0, "the run directory, read-only: %r" % v
    v = podman_view(hooks, image, VIEW_SH + "cat /etc/ld.so.preload | grep -c cgproc "
                    "| sed 's/^/preload_entries /'",
                    ["--annotation", "io.cgproc.view=shim"])
    assert_view(v, "podman, annotation shim")
    assert v["preload_entries"] == 1, v
    print("# hook durations (us): %s" % hook_times(log))


# Failure paths and opt-outs: the container starts and sees what it would without cgproc.
# (name, image, hook arguments, hooks.d "when" (None: the annotation), hook env, podman
# arguments, what the hook's log must say: "" for an empty log, the hook not run)
UNCHANGED_CASES = [
    ("no-annotation", "glibc", [], None, None, [], ""),
    ("view-off", "glibc", [], None, None, ["--annotation", "io.cgproc.view=off"], "view off"),
    ("bad-annotation", "glibc", [], None, None, ["--annotation", "io.cgproc.view=bogus"],
     "is not one of auto, shim, fuse, off"),
    ("shim-missing", "glibc", ["--view=shim"], {"always": True},
     ["CGPROC_SHIM=/nonexistent/libcgproc.so"], [], "no preload shim"),
    ("cgprocfs-not-mounted", "busybox", ["--view=fuse", "--cgprocfs=" + os.path.join(tmp, "empty")],
     {"always": True}, None, [], "cgprocfs is not mounted"),
]
UNCHANGED_SH = 'test -e /etc/ld.so.preload; echo "preload_exists $((1 - $?))"\n'


@test
def podman_failure_paths_start_unchanged():
    """No annotation, view=off, a bad annotation, no shim, no cgprocfs: each container starts
    with the host's values, no ld.so.preload left in the image, and the hook says why."""
    need_podman()
    os.makedirs(os.path.join(tmp, "empty"), exist_ok=True)
    for name, kind, args, when, env, extra, why in UNCHANGED_CASES:
        log = os.path.join(tmp, "unchanged-%s.log" % name)
        open(log, "w").close()
        hooks = hooks_dir("unchanged-" + name, ["--log=" + log] + args, when=when, env=env)
        script = UNCHANGED_SH + (VIEW_SH + "/probe" if kind == "glibc" else BUSYBOX_SH)
        v = podman_view(hooks, engine_image(["podman"], kind), script, extra)
        host = host_mem_kb()
        for key in ("free_total", "meminfo_total", "memtotal_kb", "sysinfo_total_kb"):
            assert v.get(key, host) == host, "%s: %s is not the host's: %r" % (name, key, v)
        assert v["preload_exists"] == 0, "%s: an ld.so.preload in the image: %r" % (name, v)
        with open(log) as f:
            text = f.read()
        assert why in text if why else text == "", (name, why, text)


def private_cgprocfs(name="cgprocfs", dead=False):
    """A cgprocfs of our own on tmp/@name; @dead: its daemon killed (unsupervised), leaving a
    disconnected mount that answers ENOTCONN, as one whose daemon crashed."""
    need(os.path.exists(CGPROCFS) and os.path.exists("/dev/fuse"), "no cgprocfs or /dev/fuse")
    mnt = os.path.join(tmp, name)
    os.makedirs(mnt, exist_ok=True)
    proc = subprocess.Popen([CGPROCFS, "--quiet"] + (["--no-supervisor"] if dead else []) + [mnt],
                            stdout=subprocess.DEVNULL)

    def stop():
        run(["umount", "-l", mnt])
        stop_process(proc, 5)
    cleanups.append(stop)
    for _ in range(500):
        with open("/proc/self/mountinfo") as f:
            if " %s " % mnt in f.read():
                break
        time.sleep(0.01)
    else:
        raise AssertionError("cgprocfs did not mount")
    if dead:
        proc.kill()
        proc.wait()
        try:
            os.statvfs(mnt)
            raise AssertionError("a killed cgprocfs still answers")
        except OSError as e:
            assert e.errno == 107, e  # ENOTCONN
    return mnt


@test
def podman_static_busybox_through_cgprocfs_and_agent():
    """A static busybox image: files through cgprocfs, sysinfo through the agent (wrapper)."""
    need_podman()
    mnt = private_cgprocfs()
    agent = Agent("podman-agent").start()
    log = os.path.join(tmp, "podman-fuse.log")
    hooks = hooks_dir("fuse", ["--log=" + log, "--cgprocfs=" + mnt])
    runtime = wrapper_script(agent, log, "podman-runc")
    image = engine_image(["podman"], "busybox")
    v = podman_view(hooks, image, BUSYBOX_SH, ["--annotation", "io.cgproc.view=auto"],
                    runtime=runtime)
    assert v["meminfo_total"] == MEM_KB, v
    assert v["memtotal_kb"] == MEM_KB, v
    assert v["cpu_online_is_0"] == 1, v
    assert v["stat_cpu_lines"] == 2, v  # "cpu" and "cpu0"
    # the whole CPU directory from cgprocfs: only the visible cpuN (the host has cpu1)
    assert os.path.isdir("/sys/devices/system/cpu/cpu1"), "the host needs 2 CPUs for this"
    assert v["ls_cpu0"] == 1 and v["ls_cpu1"] == 0, "ls /sys/devices/system/cpu: %r" % v
    assert v["bb_free_total"] == MEM_KB, "busybox free (sysinfo through the agent): %r" % v
    assert v["sysinfo_total_kb"] == MEM_KB, v
    assert 0 <= v["sysinfo_uptime"] < 60, v
    assert 0 <= v["uptime_s"] < 60, v
    # asked for: cgprocfs in a glibc image too, and then no shim
    v = podman_view(hooks, engine_image(["podman"], "glibc"),
                    VIEW_SH + "test -e /etc/ld.so.preload; echo preload_exists $((1 - $?))",
                    ["--annotation", "io.cgproc.view=fuse"])
    assert_view(v, "podman, annotation fuse")
    assert v["preload_exists"] == 0, v


# The glibc image's static programs (its busybox-static, the static probe) next to dynamic ones:
# each line read by both, so that the shim's and cgprocfs's answers can be compared.
MIXED_SH = r"""
echo "free_total $(free -k | awk '/^Mem:/ {print $2}')"
echo "nproc_all $(nproc --all)"
echo "py_cpus $(python3 -c 'import os; print(os.cpu_count())')"
echo "uptime_s $(cut -d. -f1 /proc/uptime)"
echo "bb_free_total $(busybox free | awk '/^Mem:/ {print $2}')"
echo "bb_meminfo_total $(busybox cat /proc/meminfo | awk '/^MemTotal:/ {print $2}')"
echo "bb_ls_cpus $(busybox ls /sys/devices/system/cpu | grep -c '^cpu[0-9]')"
echo "bb_online $(busybox cat /sys/devices/system/cpu/online)"
differs=0
for f in /sys/devices/system/cpu/online /proc/swaps; do
    cat $f >/tmp/dyn; busybox cat $f >/tmp/static
    cmp -s /tmp/dyn /tmp/static || differs=$((differs + 1))
done
grep ^MemTotal: /proc/meminfo >/tmp/dyn; busybox grep ^MemTotal: /proc/meminfo >/tmp/static
cmp -s /tmp/dyn /tmp/static || differs=$((differs + 1))
echo "files_differ $differs"
echo "preload_entries $(grep -c cgproc /etc/ld.so.preload)"
echo "meminfo_on_fuse $(stat -f -c %T /proc/meminfo | grep -c fuse)"
python3 -c '
import os
fd = os.open("/proc/meminfo", os.O_RDONLY)
print("py_meminfo_total", os.read(fd, 65536).split()[1].decode())
print("py_meminfo_memfd", int(os.readlink("/proc/self/fd/%d" % fd).startswith("/memfd:")))
cpus = [n for n in os.listdir("/sys/devices/system/cpu") if n[3:].isdigit()]
print("py_ls_cpus", len(cpus))
fd = os.open("/sys/devices/system/cpu/cpu0/topology/core_cpus_list", os.O_RDONLY)
print("py_cpufile_memfd", int(os.readlink("/proc/self/fd/%d" % fd).startswith("/memfd:")))
'
/probe
"""


@test
def podman_auto_static_programs_in_glibc_image():
    """Default (auto) view of a glibc image with a live cgprocfs: the shim for dynamic programs
    and cgprocfs's files for static ones; same bytes for both. view=shim: the shim alone. Without
    cgprocfs (the case that failed before) and with a dead one: the shim alone, logged, the
    container starts."""
    need_podman()
    mnt = private_cgprocfs("cgprocfs-mixed")
    agent = Agent("mixed-agent").start()
    log = os.path.join(tmp, "mixed-hook.log")
    hooks = hooks_dir("mixed", ["--log=" + log, "--cgprocfs=" + mnt], when={"always": True})
    runtime = wrapper_script(agent, log, "mixed-runc")
    image = engine_image(["podman"], "glibc")
    v = podman_view(hooks, image, MIXED_SH, runtime=runtime)
    assert_view(v, "auto view, dynamic programs")
    assert v["preload_entries"] == 1, "the shim is there: %r" % v
    assert v["bb_meminfo_total"] == MEM_KB, "busybox-static cat /proc/meminfo: %r" % v
    assert v["bb_free_total"] == MEM_KB, "busybox-static free: %r" % v
    assert v["bb_ls_cpus"] == 1 and v.get("bb_online") == 0, "static CPU reads: %r" % v
    assert v["memtotal_kb"] == MEM_KB and v["stat_cpu_lines"] == 2, "static probe: %r" % v
    assert v["files_differ"] == 0, "dynamic and static reads differ: %r" % v
    assert v["meminfo_on_fuse"] == 1, "auto: cgprocfs's file is bound: %r" % v
    # a dynamic program's read is the shim's own answer (a memfd snapshot rendered from the
    # inputs the hook kept), not cgprocfs's file: no FUSE round trip per read
    assert v["py_meminfo_total"] == MEM_KB, "python3 reads /proc/meminfo: %r" % v
    assert v["py_meminfo_memfd"] == 1, "auto: the shim answers the covered file: %r" % v
    assert v["py_ls_cpus"] == 1, "python3 lists /sys/devices/system/cpu: %r" % v
    assert v["py_cpufile_memfd"] == 1, "auto: the shim answers per-CPU files: %r" % v
    with open(log) as f:
        text = f.read()
    assert "view shim: done" in text and "cannot" not in text and "shim only" not in text, text

    # an input that cannot be kept (a directory where the clone of /proc/stat goes): none is
    # trusted, the shim leaves the covered files to cgprocfs, whose values are still right
    blocker = os.path.join(tmp, "mixed-blocker")
    os.makedirs(blocker, exist_ok=True)
    open(log, "w").close()
    v = podman_view(hooks, image, MIXED_SH, ["-v", blocker + ":/usr/lib/cgproc/host/proc/stat"],
                    runtime=runtime)
    assert_view(v, "auto view, inputs not kept")
    assert v["py_meminfo_total"] == MEM_KB and v["py_meminfo_memfd"] == 0, v
    assert v["files_differ"] == 0 and v["bb_meminfo_total"] == MEM_KB, v
    with open(log) as f:
        text = f.read()
    assert "cannot keep /proc/stat" in text and "drop" not in text, text

    # asked for: the shim alone, even with cgprocfs live
    v = podman_view(hooks, image, MIXED_SH, ["--annotation", "io.cgproc.view=shim"])
    assert_view(v, "shim view, dynamic programs")
    assert v["meminfo_on_fuse"] == 0 and v["bb_meminfo_total"] == host_mem_kb(), v
    assert v["py_meminfo_memfd"] == 1, v

    # no cgprocfs: what static programs saw before (the host), the shim still serves the rest
    empty = os.path.join(tmp, "mixed-not-a-mount")
    os.makedirs(empty, exist_ok=True)
    dead = private_cgprocfs("cgprocfs-dead", dead=True)
    for where, why in ((empty, "cgprocfs is not mounted"), (dead, "is disconnected")):
        open(log, "w").close()
        hooks = hooks_dir("mixed-" + os.path.basename(where), ["--log=" + log,
                                                              "--cgprocfs=" + where],
                          when={"always": True})
        v = podman_view(hooks, image, MIXED_SH)
        assert_view(v, "shim only (%s)" % why)
        assert v["bb_meminfo_total"] == host_mem_kb(), "static reads, shim only: %r" % v
        assert v["meminfo_on_fuse"] == 0, v
        with open(log) as f:
            text = f.read()
        assert why in text and "shim only" in text, text


def installed_layout():
    """cgprocd's run directory and the agent's socket as this build installs them."""
    with open(os.path.join(BUILD, "cgproc-config.h")) as f:
        rundir = re.search(r'#define CGPROC_RUNDIR "([^"]+)"', f.read()).group(1)
    with open(os.path.join(BUILD, "tools", "cgproc-sysinfo.socket")) as f:
        sock = re.search(r"^ListenStream=(\S+)$", f.read(), re.M).group(1)
    return rundir, sock


CONNECT_PY = """
import os, socket, sys
for d, _, names in os.walk(sys.argv[1]):
    for n in names:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(os.path.join(d, n))
            print("reached %s" % n)
        except OSError:
            pass
print("sockets_tried 1")
"""


@test
def podman_agent_socket_not_in_containers():
    """The agent's socket is not in the run directory the hook binds into containers: a
    container finds no socket there to connect to (the old layout, socket inside: it could)."""
    need_podman()
    rundir, sock = installed_layout()
    assert not sock.startswith(rundir.rstrip("/") + "/"), (rundir, sock)
    host = os.path.join(tmp, "layout")  # the installed layout, under tmp
    os.makedirs(host + rundir, exist_ok=True)
    with open(host + rundir + "/table", "w") as f:
        f.write("1\n")
    image = engine_image(["podman"], "glibc")
    for name, path, reach in (("installed", host + sock, 0),
                              ("inside", host + rundir + "/seccomp.sock", 1)):
        Agent("layout-" + name, sock=path).start()
        hooks = hooks_dir("layout-" + name, ["--rundir=" + host + rundir],
                          when={"always": True})
        p = podman("run", "--rm", "--network", "none", *ULIMITS, image, "python3", "-c",
                   CONNECT_PY, host + rundir, hooks=hooks)
        assert p.returncode == 0 and "sockets_tried 1" in p.stdout, (name, p.stdout, p.stderr)
        assert p.stdout.count("reached") == reach, (name, p.stdout)
        os.unlink(path)


# ---------------------------------------------------------------- runc with the wrapper

_bundle_rootfs = []


def bundle(name, script, mounts=(), annotations=None):
    """A runc bundle: the glibc rootfs (extracted once), 512 MiB, CPU 0, the probe at /probe."""
    if not _bundle_rootfs:
        root = os.path.join(tmp, "rootfs")
        os.makedirs(root)
        run(["tar", "-C", root, "-xf", rootfs_tar()], timeout=300, check=True)
        _bundle_rootfs.append(root)
    d = os.path.join(tmp, "bundle-" + name)
    os.makedirs(d, exist_ok=True)
    run(["runc", "spec", "--bundle", d], check=True)
    with open(os.path.join(d, "config.json")) as f:
        c = json.load(f)
    c["root"] = {"path": _bundle_rootfs[0], "readonly": False}
    c["process"]["terminal"] = False
    c["process"]["args"] = ["sh", "-c", script]
    c["linux"]["resources"] = {"memory": {"limit": MEM_KB * 1024}, "cpu": {"cpus": "0"}}
    c["linux"]["cgroupsPath"] = "/%s-%s" % (UNIQUE, name)
    c["mounts"].append({"destination": "/probe", "type": "bind", "source": PROBE,
                        "options": ["bind", "ro"]})
    c["mounts"] += list(mounts)
    if annotations:
        c["annotations"] = annotations
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(c, f)
    return d


def runc_root():
    root = os.path.join(tmp, "runc-root")
    os.makedirs(root, exist_ok=True)
    return root


def wrapped_run(agent, log, bundle_dir, cid, timeout=120):
    argv = [CGPROC, "oci-runtime", "--cgproc-agent", agent.sock, "--cgproc-hook-log", log,
            "--root", runc_root(), "run", "--bundle", bundle_dir, cid]
    cleanups.append(lambda: run(["runc", "--root", runc_root(), "delete", "-f", cid]))
    return run(argv, timeout=timeout)


def need_runc():
    need(have("runc"), "runc is not installed")


@test
def runc_wrapper_view_and_agent():
    need_runc()
    agent = Agent("runc-agent").start()
    log = os.path.join(tmp, "runc-hook.log")
    b = bundle("view", VIEW_SH + "/probe")
    p = wrapped_run(agent, log, b, UNIQUE + "-view")
    assert p.returncode == 0, p.stderr
    v = values(p.stdout)
    assert_view(v, "runc through the wrapper")
    assert v.get("sysinfo_total_kb") == MEM_KB, \
        "a static program's sysinfo (agent): %r\nagent: %s" % (v, agent.log_tail())
    with open(os.path.join(b, "config.json")) as f:
        c = json.load(f)
    assert c["linux"]["seccomp"]["listenerPath"] == agent.sock
    print("# hook durations (us): %s" % hook_times(log))


@test
def runc_fifty_containers_leave_nothing_behind():
    need_runc()
    agent = Agent("loop-agent").start()
    log = os.path.join(tmp, "loop-hook.log")
    b = bundle("loop", "/probe")

    def host_state():
        # the machine is shared: count only mounts that could be ours
        with open("/proc/self/mountinfo") as f:
            mounts = [m for m in f if tmp in m or "libcgproc" in m or ".cgproc-oci" in m]
        leftovers = [n for n in os.listdir("/run") if n.startswith(".cgproc-oci-")]
        return mounts, leftovers

    # one container first, so that what the agent allocates once is not counted as a leak
    assert wrapped_run(agent, log, b, UNIQUE + "-warm").returncode == 0
    time.sleep(0.2)
    before = host_state(), agent.fds(), agent.threads()
    t0 = time.monotonic()
    for i in range(50):
        p = wrapped_run(agent, log, b, "%s-loop-%d" % (UNIQUE, i))
        assert p.returncode == 0, p.stderr
        assert probe_values(p.stdout)["sysinfo_total_kb"] == MEM_KB, p.stdout
    elapsed = time.monotonic() - t0
    for _ in range(100):  # serving threads end when their container's last process has gone
        if agent.threads() == before[2]:
            break
        time.sleep(0.05)
    after = host_state(), agent.fds(), agent.threads()
    assert after == before, "before %r, after %r" % (before, after)
    ids = run(["runc", "--root", runc_root(), "list", "-q"]).stdout.split()
    assert not [i for i in ids if "-loop-" in i], ids
    times = hook_times(log)
    print("# 50 containers in %.1f s; hook median %d us, max %d us" %
          (elapsed, sorted(times)[len(times) // 2], max(times)))


@test
def runc_agent_serves_containers_at_once():
    """Eight containers calling sysinfo at the same time, one serving thread each."""
    need_runc()
    import concurrent.futures
    agent = Agent("parallel-agent").start()
    log = os.path.join(tmp, "parallel-hook.log")
    b = bundle("parallel", "/probe; sleep 2; /probe")
    peak = [0]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futs = [pool.submit(wrapped_run, agent, log, b, "%s-par-%d" % (UNIQUE, i))
                for i in range(8)]
        while not all(f.done() for f in futs):
            peak[0] = max(peak[0], agent.threads() - 1)
            time.sleep(0.05)
        for f in futs:
            p = f.result()
            assert p.returncode == 0, p.stderr
            v = re.findall(r"^sysinfo_total_kb (\d+)$", p.stdout, re.M)
            assert v == [str(MEM_KB)] * 2, p.stdout
    assert peak[0] == 8, "serving threads at the peak: %d" % peak[0]


@test
def runc_exec_is_served_too():
    """`runc exec` applies the container's profile to the new process: the runtime hands the
    agent a second notify fd, served like the first."""
    need_runc()
    agent = Agent("exec-agent").start()
    log = os.path.join(tmp, "exec-hook.log")
    b = bundle("exec", "sleep 60")
    cid = UNIQUE + "-exec"
    argv = [CGPROC, "oci-runtime", "--cgproc-agent", agent.sock, "--cgproc-hook-log", log,
            "--root", runc_root(), "run", "--detach", "--bundle", b, cid]
    cleanups.append(lambda: run(["runc", "--root", runc_root(), "delete", "-f", cid]))
    # detached: the container keeps its stdio, so give it files rather than pipes to wait on
    with open(os.path.join(tmp, "exec.out"), "w") as out:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=60)
    assert p.returncode == 0, open(os.path.join(tmp, "exec.out")).read()
    p = run(["runc", "--root", runc_root(), "exec", cid, "/probe"])
    assert p.returncode == 0, p.stderr
    assert probe_values(p.stdout)["sysinfo_total_kb"] == MEM_KB, p.stdout
    with open(agent.log) as f:
        assert "serving a container (2 now)" in f.read()


@test
def runc_agent_death_gives_enosys_and_restart_serves():
    need_runc()
    agent = Agent("death-agent").start()
    log = os.path.join(tmp, "death-hook.log")
    gate = os.path.join(tmp, "gate")
    os.makedirs(gate, exist_ok=True)
    b = bundle("death", "while [ ! -e /gate/go ]; do sleep 0.05; done; /probe",
               mounts=[{"destination": "/gate", "type": "bind", "source": gate,
                        "options": ["bind"]}])
    cid = UNIQUE + "-death"
    argv = [CGPROC, "oci-runtime", "--cgproc-agent", agent.sock, "--cgproc-hook-log", log,
            "--root", runc_root(), "run", "--bundle", b, cid]
    cleanups.append(lambda: run(["runc", "--root", runc_root(), "delete", "-f", cid]))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(500):
        with open(agent.log) as f:
            if "serving a container" in f.read():
                break
        time.sleep(0.02)
    agent.stop()
    open(os.path.join(gate, "go"), "w").close()
    out, err = proc.communicate(timeout=60)  # a hang here is the failure
    assert proc.returncode == 0, err
    v = probe_values(out)
    assert v["sysinfo_errno"] == 38, "sysinfo after the agent died: %r" % v  # ENOSYS
    os.unlink(os.path.join(gate, "go"))

    agent = Agent("death-agent").start()  # same socket path: a restart
    b2 = bundle("restart", "/probe")
    p = wrapped_run(agent, log, b2, UNIQUE + "-restart")
    assert p.returncode == 0, p.stderr
    assert probe_values(p.stdout)["sysinfo_total_kb"] == MEM_KB, p.stdout


@test
def runc_agent_down_at_start_adds_no_listener():
    """No agent: the wrapper adds the hook only; the container starts with host sysinfo."""
    need_runc()
    agent = Agent("never-started")  # socket path with nobody listening
    log = os.path.join(tmp, "down-hook.log")
    b = bundle("down", VIEW_SH + "/probe")
    p = wrapped_run(agent, log, b, UNIQUE + "-down")
    assert p.returncode == 0, p.stderr
    v = values(p.stdout)
    assert v["free_total"] == MEM_KB, v  # the hook's shim still works
    assert v["sysinfo_errno"] == 0 and v["sysinfo_total_kb"] == host_mem_kb(), v
    with open(os.path.join(b, "config.json")) as f:
        assert "seccomp" not in json.load(f)["linux"]


@test
def runc_image_symlink_cannot_reach_the_host():
    """/etc/ld.so.preload in the image is a symlink to a host path: the hook resolves it inside
    the image, so no host file's content reaches the container and the host file is untouched."""
    need_runc()
    victim = os.path.join(tmp, "victim")
    with open(victim, "w") as f:
        f.write("SECRET\n")
    root = os.path.join(tmp, "symlink-root")
    run(["tar", "-C", tmp, "-xf", busybox_tar(), "--one-top-level=symlink-root"], check=True)
    os.symlink(victim, os.path.join(root, "etc", "ld.so.preload"))
    log = os.path.join(tmp, "symlink-hook.log")
    b = bundle("symlink", "cat /etc/ld.so.preload; true", annotations={"io.cgproc.view": "shim"})
    with open(os.path.join(b, "config.json")) as f:
        c = json.load(f)
    c["root"]["path"] = root
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(c, f)
    p = wrapped_run(Agent("no-agent"), log, b, UNIQUE + "-symlink")
    assert p.returncode == 0, p.stderr
    assert "SECRET" not in p.stdout, p.stdout
    # the link dangles inside the image: nothing to read, and O_EXCL does not follow it to
    # create a mount point, so the image keeps its (dangling) link
    assert "No such file" in p.stderr, p.stderr
    with open(log) as f:
        assert "cannot bind the generated /etc/ld.so.preload" in f.read()
    with open(victim) as f:
        assert f.read() == "SECRET\n"
    with open("/proc/self/mountinfo") as f:
        assert victim not in f.read()


@test
def runc_image_fifo_preload_does_not_block():
    """/etc/ld.so.preload in the image is a FIFO: the hook must not open it (the start would
    hang); the container starts without the view."""
    need_runc()
    root = os.path.join(tmp, "fifo-root")
    run(["tar", "-C", tmp, "-xf", busybox_tar(), "--one-top-level=fifo-root"], check=True)
    os.mkfifo(os.path.join(root, "etc", "ld.so.preload"))
    log = os.path.join(tmp, "fifo-hook.log")
    b = bundle("fifo", "echo started", annotations={"io.cgproc.view": "shim"})
    with open(os.path.join(b, "config.json")) as f:
        c = json.load(f)
    c["root"]["path"] = root
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(c, f)
    p = wrapped_run(Agent("no-agent"), log, b, UNIQUE + "-fifo", timeout=60)
    assert p.returncode == 0 and p.stdout == "started\n", (p.stdout, p.stderr)
    with open(log) as f:
        assert "cannot read the image's /etc/ld.so.preload: Invalid argument" in f.read()


@test
def runc_agent_refuses_container_processes():
    """A process in another pid namespace (a container seeing the bound socket) is refused."""
    agent = Agent("trust-agent").start()
    msg = '{"ociVersion":"1.0.2","fds":["seccompFd"],"pid":1,"state":{}}'
    code = ("import socket,sys\ns=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
            "\ntry:\n s.sendall(sys.argv[2].encode()); s.recv(1)\nexcept OSError: pass")
    p = run(["unshare", "--pid", "--fork", "python3", "-c", code, agent.sock, msg], check=True)
    for _ in range(100):
        with open(agent.log) as f:
            text = f.read()
        if "untrusted peer" in text:
            break
        time.sleep(0.02)
    assert "untrusted peer" in text, text
    # socket activation: the agent serves an inherited listening socket (sd_listen_fds)
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = os.path.join(tmp, "activated.sock")
    lsock.bind(path)
    lsock.listen(8)

    def child():
        os.dup2(lsock.fileno(), 3)
        os.environ["LISTEN_PID"] = str(os.getpid())
        os.environ["LISTEN_FDS"] = "1"
    log = open(os.path.join(tmp, "activated.log"), "w")
    proc = subprocess.Popen([CGPROC, "sysinfo-agent", "--verbose", "--socket", "/nonexistent/x"],
                            preexec_fn=child, stderr=log, pass_fds=(lsock.fileno(),))
    cleanups.append(lambda: (proc.kill(), proc.wait()))
    lsock.close()
    p = run(["python3", "-c", code, path, msg])
    assert p.returncode == 0, p.stderr
    for _ in range(100):
        with open(log.name) as f:
            text = f.read()
        if "seccomp notify" in text:
            break
        time.sleep(0.02)
    assert "listening on /nonexistent/x" in text and "without a seccomp notify fd" in text, text
    assert proc.poll() is None, "the agent must survive a bad message"

    # hostile messages from a trusted peer: fds that are not notify fds, more fds than it
    # takes, an oversized message, a silent sender; it closes every fd and keeps serving
    base = len(os.listdir("/proc/%d/fd" % proc.pid))

    def send(payload, nfds=0, hold=0.0):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(path)
        fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(nfds)]
        try:
            if fds:
                socket.send_fds(c, [payload[:1]], fds)
                payload = payload[1:]
            c.sendall(payload)
            time.sleep(hold)
        except OSError:
            pass
        for fd in fds:
            os.close(fd)
        c.close()
    send(msg.encode(), nfds=3)
    send(msg.encode(), nfds=20)
    send(b"[" * 70000)
    send(b'{"fds":["seccompFd"]', hold=0.2)
    send(b"")
    time.sleep(0.3)
    assert proc.poll() is None, "the agent must survive hostile messages"
    assert len(os.listdir("/proc/%d/fd" % proc.pid)) == base, "fds leaked"
    with open(log.name) as f:
        text = f.read()
    assert text.count("without a seccomp notify fd") >= 3 and "bad message" in text, text


# ---------------------------------------------------------------- docker

def private_daemon(argv, d, ready):
    """Starts a daemon of our own (its state under @d), waits until @ready(); at the end stops it
    and detaches whatever it left mounted under @d."""
    proc = subprocess.Popen(argv, stdout=open(d + "/log", "w"), stderr=subprocess.STDOUT)

    def stop():
        stop_process(proc, 30)
        for m in reversed(open("/proc/self/mountinfo").read().splitlines()):
            if " %s/" % d in m:
                run(["umount", "-l", m.split()[4]])
    cleanups.append(stop)
    for _ in range(300):
        if proc.poll() is None and ready():
            return proc
        time.sleep(0.1)
    raise AssertionError("%s did not start:\n%s" % (argv[0], open(d + "/log").read()[-2000:]))


@test
def docker_runtime_cgproc():
    """A private dockerd with the wrapper in daemon.json "runtimes": docker run --runtime."""
    need(have("dockerd") and have("docker") and have("runc"), "docker.io is not installed")
    agent = Agent("docker-agent").start()
    log = os.path.join(tmp, "docker-hook.log")
    d = os.path.join(tmp, "docker")
    os.makedirs(d)
    sock = os.path.join(d, "docker.sock")
    conf = os.path.join(d, "daemon.json")
    with open(conf, "w") as f:
        json.dump({"runtimes": {"cgproc": {"path": wrapper_script(agent, log, "docker-runc")}}},
                  f)
    docker = ["docker", "-H", "unix://" + sock]
    private_daemon(["dockerd", "--iptables=false", "--ip6tables=false", "--bridge=none",
                    "--data-root", d + "/data", "--exec-root", d + "/exec", "--pidfile",
                    d + "/pid", "-H", "unix://" + sock, "--config-file", conf], d,
                   lambda: run(docker + ["version"], timeout=10).returncode == 0)
    image = engine_image(docker, "glibc")
    p = run(docker + ["run", "--rm", "--runtime=cgproc", "--network", "none", *ULIMITS, *LIMITS,
                      "-v", PROBE + ":/probe:ro", image, "sh", "-c", VIEW_SH + "/probe"],
            timeout=180)
    assert p.returncode == 0, p.stderr
    v = values(p.stdout)
    assert_view(v, "docker --runtime=cgproc")
    assert v.get("sysinfo_total_kb") == MEM_KB, \
        "a static program's sysinfo (agent): %r\nagent: %s" % (v, agent.log_tail())
    # the default runtime is untouched
    p = run(docker + ["run", "--rm", "--network", "none", *ULIMITS, *LIMITS, image,
                      "sh", "-c", VIEW_SH], timeout=180)
    assert p.returncode == 0, p.stderr
    assert_host_view(values(p.stdout), "docker default runtime")


# ---------------------------------------------------------------- containerd

@test
def containerd_runc_binary():
    """A private containerd; ctr runs the wrapper as the runc shim's BinaryName (--runc-binary),
    which is how a containerd runtime handler (contrib/kubernetes/containerd.toml) reaches it."""
    need(have("containerd") and have("ctr") and have("runc"), "containerd is not installed")
    bundle("containerd-rootfs", "true")  # extracts the glibc rootfs once
    agent = Agent("ctd-agent").start()
    log = os.path.join(tmp, "ctd-hook.log")
    d = os.path.join(tmp, "ctd")
    os.makedirs(d)
    sock = os.path.join(d, "sock")
    with open(os.path.join(d, "config.toml"), "w") as f:
        f.write('version = 2\nroot = "%s/root"\nstate = "%s/state"\n[grpc]\n  address = "%s"\n'
                '[plugins."io.containerd.grpc.v1.cri"]\n  disable_tcp_service = true\n'
                % (d, d, sock))
    ctr = ["ctr", "--address", sock]
    private_daemon(["containerd", "--config", os.path.join(d, "config.toml")], d,
                   lambda: os.path.exists(sock) and run(ctr + ["version"],
                                                        timeout=10).returncode == 0)
    p = run(ctr + ["run", "--rm", "--runc-binary", wrapper_script(agent, log, "ctd-runc"),
                   "--memory-limit", str(MEM_KB * 1024), "--env", "PATH=/usr/bin:/bin",
                   "--mount", "type=bind,src=%s,dst=/probe,options=rbind:ro" % PROBE,
                   "--rootfs", _bundle_rootfs[0], UNIQUE + "-ctd",
                   "/bin/sh", "-c", "grep -c libcgproc /etc/ld.so.preload; /probe"],
            timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("1\n"), "the hook's ld.so.preload: %r" % p.stdout
    assert probe_values(p.stdout)["sysinfo_total_kb"] == MEM_KB, p.stdout


# ---------------------------------------------------------------- CDI

@test
def cdi_spec_fields():
    """`cgproc cdi` against the CDI schema's fields and rules."""
    p = run([CGPROC, "cdi", "--hook", "/usr/libexec/cgproc/oci-hook"], check=True)
    spec = json.loads(p.stdout)
    assert set(spec) <= {"cdiVersion", "kind", "devices", "containerEdits"}, spec.keys()
    assert re.fullmatch(r"\d+\.\d+\.\d+", spec["cdiVersion"])
    vendor, cls = spec["kind"].split("/")
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9]", vendor), vendor
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*[A-Za-z0-9]", cls), cls
    names = [dev["name"] for dev in spec["devices"]]
    assert sorted(names) == ["auto", "fuse", "shim"], names
    for dev in spec["devices"]:
        assert set(dev) <= {"name", "annotations", "containerEdits"}
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:-]*", dev["name"])
        edits = dev["containerEdits"]
        assert edits and set(edits) <= {"env", "deviceNodes", "hooks", "mounts",
                                        "intelRdt", "additionalGids"}
        for h in edits["hooks"]:
            assert h["hookName"] in ("prestart", "createRuntime", "createContainer",
                                     "startContainer", "poststart", "poststop")
            assert h["path"].startswith("/")
            assert h["args"][0] == "oci-hook" and h["args"][1] == "--view=" + dev["name"]


@test
def cdi_podman_device():
    """podman run --device cgproc.io/view=shim with the spec in a CDI directory."""
    need_podman()
    log = os.path.join(tmp, "cdi-hook.log")
    # podman 4.3 reads only /etc/cdi and /var/run/cdi (no cdi_spec_dirs setting): a spec under
    # a kind of its own, removed afterwards, with the directory if it was made here
    spec_dir = "/var/run/cdi"
    if not os.path.isdir(spec_dir):
        os.makedirs(spec_dir)
        cleanups.append(lambda: os.rmdir(spec_dir))
    path = os.path.join(spec_dir, UNIQUE + ".json")
    p = run([CGPROC, "cdi", "--hook", CGPROC], check=True)
    spec = json.loads(p.stdout)
    spec["kind"] = "cgproc.io/%s" % UNIQUE.replace("cgproc-oci-", "test")
    for dev in spec["devices"]:
        dev["containerEdits"]["hooks"][0]["args"].append("--log=" + log)
    with open(path, "w") as f:
        json.dump(spec, f)
    cleanups.append(lambda: os.unlink(path))
    image = engine_image(["podman"], "glibc")
    v = podman_view(None, image, VIEW_SH, ["--device", spec["kind"] + "=shim"])
    assert_view(v, "podman --device (CDI)")


def main():
    groups = sys.argv[1:]
    chosen = [t for t in results
              if not groups or any(t.__name__.startswith(g) for g in groups)]
    print("TAP version 13")
    print("1..%d" % len(chosen))
    failed = 0
    for i, t in enumerate(chosen, 1):
        t0 = time.monotonic()
        try:
            t()
            print("ok %d - %s (%.1f s)" % (i, t.__name__, time.monotonic() - t0))
        except Skip as e:
            print("ok %d - %s # SKIP %s" % (i, t.__name__, e))
        except Exception as e:
            failed += 1
            print("not ok %d - %s" % (i, t.__name__))
            for line in ("%s: %s" % (type(e).__name__, e)).splitlines():
                print("# " + line)
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

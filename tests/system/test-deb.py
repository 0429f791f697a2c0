#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian package: built with `dpkg-buildpackage -b -us -uc` from a copy of the source tree
# (the tree itself stays clean), checked with lintian (errors and warnings fail; the overrides in
# debian/cgproc.lintian-overrides carry their reasons), installed with dpkg -i into a chroot of
# the cached debootstrap bookworm rootfs (tests/containers/rootfs.sh), checked there (files in
# place, the shim needing only libc, units enabled but not started, /etc/ld.so.preload
# untouched), and purged: the chroot must then be byte-identical to before the install but for
# dpkg's own database and log.
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctest import Tap, listing_diff, preflight, run, source_root, tree_listing  # noqa: E402

TRIPLET = "x86_64-linux-gnu"
FILES = ["usr/bin/cgproc", "usr/sbin/cgprocd", "usr/sbin/cgprocfs",
         "usr/lib/%s/libcgproc.so" % TRIPLET, "usr/lib/%s/cgproc/libcgprocfs-serve.so" % TRIPLET,
         "lib/systemd/system/cgprocd.service", "lib/systemd/system/cgprocfs.service",
         "lib/systemd/system/cgproc-sysinfo.socket", "lib/systemd/system/cgproc-sysinfo.service",
         "usr/libexec/cgproc/cgproc-lxc-hook",
         "usr/share/lxc/config/common.conf.d/00-cgproc.conf",
         "usr/share/man/man1/cgproc.1.gz", "usr/share/man/man7/cgproc.7.gz",
         "usr/share/man/man8/cgprocd.8.gz", "usr/share/man/man8/cgprocfs.8.gz",
         "usr/share/man/man8/libcgproc.8.gz", "usr/share/doc/cgproc/copyright"]
# what dpkg itself records about an install and a purge
DPKG_OWN = ("var/lib/dpkg/", "var/log/dpkg.log")

tap = Tap()
src = source_root()


def copy_tree(dst):
    """The source tree's files (tracked and new, not ignored ones such as build dirs)."""
    if os.path.isdir(os.path.join(src, ".git")) or os.path.isfile(os.path.join(src, ".git")):
        p = run(["git", "-C", src, "ls-files", "-z", "-co", "--exclude-standard"], check=True)
        names = [n for n in p.stdout.split("\0") if n and os.path.lexists(os.path.join(src, n))]
        for n in names:
            os.makedirs(os.path.dirname(os.path.join(dst, n)), exist_ok=True)
            shutil.copy2(os.path.join(src, n), os.path.join(dst, n), follow_symlinks=False)
    else:
        shutil.copytree(src, dst, symlinks=True, ignore=lambda d, names: [
            n for n in names if d == src and (n.startswith("build") or n == ".git")])


def chroot(root, *cmd, timeout=300):
    return run(["chroot", root] + list(cmd), timeout=timeout,
               env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8",
                    "DEBIAN_FRONTEND": "noninteractive"})


def processes_in(root):
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink("/proc/%s/root" % pid) == root:
                out.append(pid)
        except OSError:
            pass
    return out


def install_deps(tmp, root, deb):
    """The package's dependencies, from Debian's archive (apt-get download on the host)."""
    depends = run(["dpkg-deb", "-f", deb, "Depends"], check=True).stdout
    names = [d.strip().split()[0] for d in depends.split(",") if d.strip()]
    missing = [n for n in names if "install ok installed" not in chroot(
        root, "dpkg-query", "-W", "-f", "${Status}", n).stdout]
    if not missing:
        return True
    debs = os.path.join(root, "tmp", "deps")
    os.makedirs(debs)
    p = run(["apt-get", "download"] + missing, cwd=debs, timeout=300)
    if not tap.ok(p.returncode == 0, "apt-get download " + " ".join(missing), p.stderr):
        return False
    files = ["/tmp/deps/" + f for f in sorted(os.listdir(debs))]
    p = chroot(root, "dpkg", "-i", *files)
    return tap.ok(p.returncode == 0, "dependencies installed in the chroot", p.stdout + p.stderr)


def main():
    tarball = preflight(tap, ("dpkg-buildpackage", "dpkg-checkbuilddeps", "lintian", "apt-get",
                              "chroot"), "tools/install-deps")

    tmp = tempfile.mkdtemp(prefix="cgproc-deb-")
    root = os.path.join(tmp, "chroot")
    try:
        tree = os.path.join(tmp, "cgproc")
        copy_tree(tree)
        p = run(["dpkg-checkbuilddeps"], cwd=tree)
        if not tap.ok(p.returncode == 0, "build dependencies installed", p.stderr):
            raise RuntimeError("missing build dependencies")
        p = run(["dpkg-buildpackage", "-b", "-us", "-uc"], cwd=tree, timeout=1800)
        debs = [f for f in os.listdir(tmp) if f.startswith("cgproc_") and f.endswith(".deb")]
        if not tap.ok(p.returncode == 0 and len(debs) == 1, "dpkg-buildpackage -b -us -uc: %s" % (
                " ".join(debs)), (p.stdout + p.stderr)[-4000:]):
            raise RuntimeError("no package")
        deb = os.path.join(tmp, debs[0])
        changes = [f for f in os.listdir(tmp) if f.endswith(".changes")]
        p = run(["lintian", "--fail-on", "error,warning", os.path.join(tmp, changes[0])],
                timeout=600)
        tap.diag(p.stdout.strip() or "lintian: no tags")
        tap.ok(p.returncode == 0, "lintian: no error or warning (overrides explained)", p.stderr)

        os.makedirs(root)
        run(["tar", "-C", root, "--numeric-owner", "-xf", tarball], timeout=600, check=True)
        if not install_deps(tmp, root, deb):
            raise RuntimeError("no dependencies")
        shutil.copy(deb, os.path.join(root, "tmp", "cgproc.deb"))
        before = tree_listing(root)

        p = chroot(root, "dpkg", "-i", "/tmp/cgproc.deb")
        tap.ok(p.returncode == 0, "dpkg -i in the chroot", p.stdout + p.stderr)
        missing = [f for f in FILES if not os.path.isfile(os.path.join(root, f))]
        tap.eq(missing, [], "files in place")
        hook = os.path.join(root, "usr/libexec/cgproc/cgproc-lxc-hook")
        tap.ok(os.access(hook, os.X_OK), "the LXC hook is executable")
        with open(os.path.join(root, "usr/share/lxc/config/common.conf.d/00-cgproc.conf")) as f:
            conf = f.read()
        tap.ok("lxc.hook.mount = /usr/libexec/cgproc/cgproc-lxc-hook" in conf,
               "00-cgproc.conf runs the installed hook")
        with open(hook) as f:
            tap.ok("shim='/usr/lib/%s/libcgproc.so'" % TRIPLET in f.read(),
                   "the hook binds the installed shim")
        ldd = chroot(root, "ldd", "/usr/lib/%s/libcgproc.so" % TRIPLET)
        libs = sorted(line.split()[0] for line in ldd.stdout.splitlines() if line.strip())
        tap.ok(ldd.returncode == 0 and "not found" not in ldd.stdout and
               all(x.startswith(("linux-vdso", "libc.so", "/lib64/ld-linux")) for x in libs),
               "ldd of the shim: %s" % " ".join(libs), ldd.stdout + ldd.stderr)
        t = chroot(root, "env", "LD_PRELOAD=/usr/lib/%s/libcgproc.so" % TRIPLET, "true")
        tap.ok(t.returncode == 0 and not t.stderr, "a program runs with the shim preloaded",
               t.stderr)
        v = chroot(root, "cgproc", "--version")
        tap.ok(v.returncode == 0 and v.stdout.strip(), "cgproc --version: " + v.stdout.strip())
        for unit, target in (("cgprocd.service", "multi-user"), ("cgprocfs.service", "multi-user"),
                             ("cgproc-sysinfo.socket", "sockets")):
            link = os.path.join(root, "etc/systemd/system/%s.target.wants" % target, unit)
            tap.ok(os.path.islink(link), "%s enabled (%s.target.wants)" % (unit, target))
        tap.eq(processes_in(root), [], "nothing started in the chroot")
        tap.ok(not os.path.lexists(os.path.join(root, "etc/ld.so.preload")),
               "the chroot's /etc/ld.so.preload untouched (absent)")

        p = chroot(root, "dpkg", "--purge", "cgproc")
        tap.ok(p.returncode == 0, "dpkg --purge cgproc", p.stdout + p.stderr)
        changed = listing_diff(before, tree_listing(root))
        left = [c for c in changed if not c.startswith(DPKG_OWN)]
        tap.eq(left, [], "after the purge the chroot is as before the install (but for dpkg's db)")
        tap.ok(not os.path.lexists(os.path.join(root, "etc/ld.so.preload")),
               "no /etc/ld.so.preload after the purge")
    except Exception as e:  # a broken step is a failure, never an exception past the cleanup
        tap.ok(False, "test step raised %s: %s" % (type(e).__name__, e))
    finally:
        for pid in processes_in(root):  # a maintainer script must never leave one; never ours
            tap.ok(False, "process %s left running in the chroot" % pid)
        shutil.rmtree(tmp, ignore_errors=True)
        tap.ok(not os.path.exists(tmp), "cleaned up")
    tap.done()


main()

# SPDX-License-Identifier: LGPL-2.1-or-later
# TAP output and the CI rule for the container tests (Python, run by meson with protocol 'tap'):
# a test that cannot run skips with its reason, except under CI=true, where it fails.
import os
import signal
import subprocess
import sys


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0
        # meson ends a test that times out with SIGTERM: exit through the tests' finally blocks,
        # which stop the container and remove the temporary directory
        signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))

    def diag(self, text):
        for line in str(text).splitlines() or [""]:
            print("# " + line, flush=True)

    def ok(self, cond, what, detail=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, what), flush=True)
        if not cond:
            self.failed += 1
            if detail is not None:
                self.diag(detail)
        return cond

    def eq(self, got, want, what):
        return self.ok(got == want, "%s: %r" % (what, got), "expected %r" % (want,))

    def cannot_run(self, why):
        """Skip the whole test (CI=true: fail) because the host cannot run it."""
        if os.environ.get("CI") == "true":
            self.ok(False, "cannot run under CI=true: " + why)
            self.done()
        print("1..0 # SKIP " + why, flush=True)
        sys.exit(0)

    def done(self):
        print("1..%d" % max(self.n, 1) if self.n else "1..1\nnot ok 1 - no test ran", flush=True)
        sys.exit(1 if self.failed or not self.n else 0)


def source_root():
    return os.environ.get("CGPROC_SOURCE_ROOT") or os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))


def preflight(tap, programs, hint):
    """Root, the programs, and the cached debootstrap rootfs tarball (its path), or cannot_run."""
    if os.geteuid() != 0:
        tap.cannot_run("needs root")
    import shutil

    for prog in programs:
        if not shutil.which(prog):
            tap.cannot_run("%s not installed (%s)" % (prog, hint))
    p = run([os.path.join(source_root(), "tests", "containers", "rootfs.sh")], timeout=1200)
    if p.returncode != 0:
        tap.cannot_run("no rootfs tarball: " + p.stderr.strip())
    return p.stdout.strip()


def run(cmd, timeout=120, check=False, **kw):
    """Runs cmd, returns CompletedProcess with text stdout/stderr (never raises on status)."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode, p.stdout,
                                                   p.stderr))
    return p


def tree_listing(root):
    """One line per entry below root, sorted: path, type and mode, owner, size, and a file's
    SHA-256 or a link's target. Times are left out: they are not content."""
    import hashlib
    import stat

    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            size = 0
            extra = ""
            if stat.S_ISREG(st.st_mode):
                size = st.st_size
                h = hashlib.sha256()
                with open(path, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)
                extra = h.hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                extra = os.readlink(path)
            out.append("%s\t%o %d:%d %d %s" % (rel, st.st_mode, st.st_uid, st.st_gid, size, extra))
    out.sort()
    return out


def listing_diff(before, after):
    """Paths whose line differs, was added or was removed."""
    b = {line.split("\t", 1)[0]: line for line in before}
    a = {line.split("\t", 1)[0]: line for line in after}
    return sorted(p for p in set(a) | set(b) if a.get(p) != b.get(p))

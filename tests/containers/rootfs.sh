#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Prints the path of a Debian bookworm root file system tarball for the container tests (Podman,
# runc, Docker, LXC), building it with debootstrap from Debian's archive the first time. No
# container registry is reachable from CI, so images are made here and `podman import`ed.
# The tarball is cached under $CGPROC_ROOTFS_CACHE (default /var/cache/cgproc-tests) so later runs
# on the same machine skip the ~3 minute debootstrap; a lock serialises concurrent first builds.
# Contents: minbase + systemd as init + the programs the tests run inside (free, nproc, uptime,
# python3, busybox). The tarball is never modified after it is made.
set -eu
cache=${CGPROC_ROOTFS_CACHE:-/var/cache/cgproc-tests}
suite=bookworm
mirror=${CGPROC_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}
pkgs=systemd,systemd-sysv,dbus,procps,python3,busybox-static,iproute2
tarball="$cache/$suite-systemd.tar"

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ ! -s "$tarball" ]; then
	work=$(mktemp -d "$cache/build.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	debootstrap --variant=minbase --include="$pkgs" "$suite" "$work/root" "$mirror" \
		>"$work/log" 2>&1 || {
		tail -n 20 "$work/log" >&2
		echo "rootfs.sh: debootstrap failed" >&2
		exit 1
	}
	# A container gets its own machine-id at boot; an empty file makes systemd generate one.
	: >"$work/root/etc/machine-id"
	echo cgproc-test >"$work/root/etc/hostname"
	tar -C "$work/root" --numeric-owner -cf "$work/rootfs.tar" .
	mv "$work/rootfs.tar" "$tarball"
fi
echo "$tarball"

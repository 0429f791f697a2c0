#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the OCI hook adds to a container start, side by side in one run: N fresh runs of
# `cgproc oci-hook --view=shim` (each in a new private mount namespace, as a runtime would start
# it: exec, read the state and config.json, bind the shim and a generated /etc/ld.so.preload)
# against N runs of the same binary doing nothing in the same setting. Root. Prints the mean of
# each, in microseconds, and their difference.
# Usage: tests/containers/bench-hook.sh [BUILD_DIR] [N]
set -eu
build=$(cd "${1:-build}" && pwd)
n=${2:-200}
work=$(mktemp -d /tmp/cgproc-bench-hook-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/etc" "$work/rootfs/usr/lib"
echo '{"root":{"path":"rootfs"}}' >"$work/config.json"
export CGPROC_BENCH_WORK="$work" CGPROC_BENCH_EXE="$build/tools/cgproc"

loop() { # $1: the command run in the namespace
	i=0
	t0=$(date +%s%N)
	while [ $i -lt "$n" ]; do
		unshare -m --propagation private sh -c "echo \"{\\\"id\\\":\\\"bench\\\",\\\"pid\\\":\$\$,\\\"bundle\\\":\\\"$work\\\"}\" | $1" >/dev/null 2>&1
		i=$((i + 1))
	done
	t1=$(date +%s%N)
	echo $(((t1 - t0) / n / 1000))
}
hook=$(loop "exec \"\$CGPROC_BENCH_EXE\" oci-hook --view=shim --rundir=/nonexistent")
base=$(loop "exec \"\$CGPROC_BENCH_EXE\" --version")
echo "hook: $hook us per run; the same exec doing nothing: $base us; the hook's work: $((hook - base)) us (N=$n)"

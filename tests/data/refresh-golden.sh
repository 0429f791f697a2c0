#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Regenerate the golden outputs tests/data/<tree>/expected/<pid>/<file> with `cgproc show --root`.
# Review the result as a git diff: every change in what a process would read shows up there.
#
#   tests/data/refresh-golden.sh [BUILD_DIR]      (default: build)
set -eu
data=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$data/../.." && pwd)
build=${1:-$top/build}
case $build in /*) ;; *) build=$top/$build ;; esac
cgproc=$build/tools/cgproc
[ -x "$cgproc" ] || { echo "refresh-golden.sh: build first: $cgproc not found" >&2; exit 1; }

# Every entry of cgroupfs/vfile.c's table, by short name (the integration test checks that this
# list and the table agree: a file without golden output fails there).
files="meminfo cpuinfo stat uptime loadavg swaps diskstats pressure-cpu pressure-memory
pressure-io cpu-online cpu-possible cpu-present pid-stat vmstat
node0-meminfo node0-cpulist node0-cpumap"

for tree in v1 hybrid v2; do
	for pid in 200 301 400; do
		dir=$data/$tree/expected/$pid
		rm -rf "$dir"
		mkdir -p "$dir"
		for f in $files; do
			"$cgproc" show --root "$data/$tree" --pid "$pid" "$f" >"$dir/$f"
		done
		"$cgproc" show --root "$data/$tree" --pid "$pid" --explain >"$dir/explain"
	done
done
echo "golden files refreshed; review with: git diff --stat -- tests/data"

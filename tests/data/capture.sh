#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Capture a fixture tree from this host: run as root on a cgroup v1 or hybrid host.
#
#   tests/data/capture.sh OUTDIR [--v1]
#
# Makes a small real cgroup subtree "cgproc-fixture" in every mounted hierarchy, with one case per
# machine-cgroup rule, starts processes in it, copies what cgproc reads, and removes everything:
#   pid 200  rule 4: own cgroup  cgproc-fixture/app        (256 MiB, cpuset 0, quota 50000/100000)
#   pid 301  rule 3: a process in a pid namespace whose init (pid 300) sits in
#                    cgproc-fixture/ct/init.scope; the process in cgproc-fixture/ct/svc
#                                                          (ct: 384 MiB, cpuset 1)
#   pid 400  rule 2: a process in a cgroup namespace rooted at cgproc-fixture/pod/ct2 with its own
#                    cgroup mounts; the limit (200 MiB, quota 25000/100000) sits on pod, above it
#   pid 100  the reader (proc/self), on the host
# Real pids are renumbered to these so that a new capture diffs cleanly. --v1 drops the cgroup2
# hierarchy (mountinfo lines, "0::" lines, its directory) to give a pure v1 host.
set -eu

out=${1:?usage: capture.sh OUTDIR [--v1]}
v1only=no
[ "${2:-}" = "--v1" ] && v1only=yes
[ "$(id -u)" -eq 0 ] || { echo "capture.sh: needs root" >&2; exit 1; }

base=cgproc-fixture
cgroot=/sys/fs/cgroup
hier=""
for h in memory cpu cpuacct cpuset blkio pids unified; do
	[ -d "$cgroot/$h" ] && hier="$hier $h"
done
pids=""

cleanup() {
	rm -f "${cache:-}"
	for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
	sleep 0.3
	for h in $hier; do
		[ -d "$cgroot/$h/$base" ] || continue
		find "$cgroot/$h/$base" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	done
}
trap cleanup EXIT INT TERM

mk() { # mk REL: make cgroup REL in every hierarchy (v1 cpuset gets its parent's cpus/mems)
	for h in $hier; do
		d=$cgroot/$h/$1
		mkdir -p "$d"
		if [ "$h" = cpuset ]; then
			cat "$(dirname "$d")/cpuset.cpus" >"$d/cpuset.cpus"
			cat "$(dirname "$d")/cpuset.mems" >"$d/cpuset.mems"
		fi
	done
}
put() { # put REL FILE VALUE: write into whichever hierarchy has FILE
	for h in $hier; do
		[ -e "$cgroot/$h/$1/$2" ] && { echo "$3" >"$cgroot/$h/$1/$2"; return 0; }
	done
	return 0
}
join() { # join REL PID
	for h in $hier; do echo "$2" >"$cgroot/$h/$1/cgroup.procs"; done
}

mk $base
mk $base/app
mk $base/ct
mk $base/ct/init.scope
mk $base/ct/svc
mk $base/pod
mk $base/pod/ct2
put $base/app memory.limit_in_bytes 268435456
put $base/app cpuset.cpus 0
put $base/app cpu.cfs_period_us 100000
put $base/app cpu.cfs_quota_us 50000
put $base/ct memory.limit_in_bytes 402653184
# v1 cpusets: children must stay inside the parent's set, so narrow them first
put $base/ct/init.scope cpuset.cpus 1
put $base/ct/svc cpuset.cpus 1
put $base/ct cpuset.cpus 1
put $base/pod memory.limit_in_bytes 209715200
put $base/pod cpu.cfs_period_us 100000
put $base/pod cpu.cfs_quota_us 25000

# rule 4: a plain process
sleep 600 &
app=$!
pids="$pids $app"
join $base/app $app
# page cache charged to the cgroup, so that its counters are not all zero
cache=/var/tmp/cgproc-fixture.$$
sh -c "echo \$\$ >$cgroot/memory/$base/app/cgroup.procs; dd if=/dev/zero of=$cache bs=1M count=8 2>/dev/null"

# rule 3: unshare -fp; the init (sleep) runs in ct/init.scope, its child moves to ct/svc
sh -c "for h in $hier; do echo \$\$ >$cgroot/\$h/$base/ct/init.scope/cgroup.procs; done
	exec unshare -fp sh -c 'sleep 600 & exec sleep 600'" &
unsh=$!
pids="$pids $unsh"
sleep 0.5
ctinit=$(pgrep -P $unsh | head -1)
ctchild=$(pgrep -P "$ctinit" | head -1)
pids="$pids $ctinit $ctchild"
join $base/ct/svc "$ctchild"

# rule 2: a cgroup namespace rooted at pod/ct2, with its own cgroup mounts
# (the host's cgroup mounts go, as in a container; the kernel refuses a hierarchy mounted on top
# of itself anyway)
mounts="umount -l $cgroot; mount -t tmpfs cgproc-tmpfs $cgroot;"
for h in $hier; do
	if [ "$h" = unified ]; then
		mounts="$mounts mkdir $cgroot/unified; mount -t cgroup2 cgproc-unified $cgroot/unified;"
	else
		mounts="$mounts mkdir $cgroot/$h; mount -t cgroup -o $h cgproc-$h $cgroot/$h;"
	fi
done
sh -c "for h in $hier; do echo \$\$ >$cgroot/\$h/$base/pod/ct2/cgroup.procs; done
	exec unshare -Cm sh -c '$mounts exec sleep 600'" &
cgns=$!
pids="$pids $cgns"
sleep 0.5

reader=$$
map="$reader=100 $app=200 $ctinit=300 $ctchild=301 $cgns=400"
mapped() { # mapped REALPID -> fixture pid, or nothing
	for m in $map; do
		if [ "${m%%=*}" = "$1" ]; then
			echo "${m#*=}"
			return 0
		fi
	done
	return 0
}
awkmap=$(echo "$map" | tr ' ' ',')

rm -rf "$out"
mkdir -p "$out/proc/pressure" "$out/sys/devices/system/cpu"
for f in meminfo cpuinfo stat uptime loadavg diskstats swaps vmstat pressure/cpu pressure/memory \
	pressure/io; do
	cat /proc/$f >"$out/proc/$f" 2>/dev/null || rm -f "$out/proc/$f"
done
for f in online possible present; do
	cat /sys/devices/system/cpu/$f >"$out/sys/devices/system/cpu/$f"
done
mkdir -p "$out/sys/devices/system/node/node0"
for f in online node0/meminfo node0/cpulist node0/cpumap; do
	cat /sys/devices/system/node/$f >"$out/sys/devices/system/node/$f"
done

# v1: no cgroup2 line in mountinfo, no "0::" line in /proc/<pid>/cgroup
# Only the mounts cgproc looks at (cgroup hierarchies, their tmpfs, /, /proc, /sys).
filter_mountinfo() {
	grep -E ' - (cgroup|cgroup2|proc|sysfs) | /sys/fs/cgroup | / / ' |
		if [ $v1only = yes ]; then grep -v ' - cgroup2 '; else cat; fi
}
filter_cgroup() { if [ $v1only = yes ]; then grep -v '^0::'; else cat; fi; }

# Rewrite the pids that matter (stat fields 1 and 4; status Pid/PPid/Tgid/NSpid... lines) through
# the map; pids outside it (parents on the host) become 1.
remap_awk='BEGIN { n = split(m, a, ","); for (i = 1; i <= n; i++) { split(a[i], kv, "="); p[kv[1]] = kv[2] } }
function r(x) { return (x in p) ? p[x] : (x == 0 ? 0 : 1) }'
for real in $reader $app $ctinit $ctchild $cgns; do
	fp=$(mapped "$real")
	d=$out/proc/$fp
	mkdir -p "$d/ns"
	filter_cgroup </proc/"$real"/cgroup >"$d/cgroup"
	filter_mountinfo </proc/"$real"/mountinfo >"$d/mountinfo"
	awk -v m="$awkmap" "$remap_awk"'{ $1 = r($1); $4 = r($4); print }' /proc/"$real"/stat >"$d/stat"
	awk -v m="$awkmap" -v OFS='\t' "$remap_awk"'
		/^(Pid|PPid|Tgid|TracerPid|NSpid|NStgid|NSpgid|NSsid):/ { $2 = r($2) } { print }' \
		/proc/"$real"/status >"$d/status"
	for ns in cgroup pid; do
		ln -s "$(readlink /proc/"$real"/ns/$ns)" "$d/ns/$ns"
	done
done
# (NSpid's first field is the host pid, remapped; the last is the pid inside, kept.)
ln -s 100 "$out/proc/self"

copy_files() { # copy_files SRC DST [with-procs]
	mkdir -p "$2"
	for f in memory.limit_in_bytes memory.usage_in_bytes memory.memsw.limit_in_bytes \
		memory.memsw.usage_in_bytes memory.stat memory.oom_control memory.events memory.max memory.current memory.swap.max \
		memory.swap.current cpu.cfs_quota_us cpu.cfs_period_us cpu.max cpu.stat \
		cpuacct.usage_all cpuacct.stat cpuacct.usage cpuset.cpus cpuset.effective_cpus \
		cpuset.cpus.effective cpuset.mems blkio.throttle.io_serviced \
		blkio.throttle.io_service_bytes blkio.throttle.io_serviced_recursive \
		blkio.throttle.io_service_bytes_recursive io.stat cpu.pressure memory.pressure \
		io.pressure; do
		[ -f "$1/$f" ] && cat "$1/$f" >"$2/$f" 2>/dev/null || true
	done
	if [ "${3:-}" = with-procs ]; then
		: >"$2/cgroup.procs"
		while read -r p; do
			fp=$(mapped "$p")
			if [ -n "$fp" ]; then echo "$fp" >>"$2/cgroup.procs"; fi
		done <"$1/cgroup.procs"
	fi
}
for h in $hier; do
	[ $v1only = yes ] && [ "$h" = unified ] && continue
	copy_files "$cgroot/$h" "$out/sys/fs/cgroup/$h"
	find "$cgroot/$h/$base" -type d | while read -r d; do
		copy_files "$d" "$out/sys/fs/cgroup/$h/${d#"$cgroot/$h/"}" with-procs
	done
done
echo "captured into $out: pids 200 (rule 4), 301 (rule 3), 400 (rule 2), reader 100"

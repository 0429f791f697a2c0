#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# (Re)write the seed corpora tests/fuzz/corpus/<target>/ from this machine's /proc, /sys and
# cgroup files plus a few hand-written v1/v2 samples. Each seed carries the binary parameter
# prefix its target reads first (see the head comment of tests/fuzz/fuzz-<target>.c).
# Usage: tests/fuzz/seed-corpus.py   (review the result with git diff --stat)
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus')


def rd(path, limit=16384):
    try:
        with open(path, 'rb') as f:
            return f.read(limit)
    except OSError:
        return None


def put(target, name, data):
    if data is None:
        return
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def u(v, n):
    return (v & ((1 << (8 * n)) - 1)).to_bytes(n, 'little')


V2_MOUNTINFO = (b'25 28 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n'
                b'27 25 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 '
                b'cgroup2 rw,nsdelegate,memory_recursiveprot\n')
V1_MOUNTINFO = (b'25 24 0:21 / /sys/fs/cgroup/unified rw shared:10 - cgroup2 cgroup2 rw\n'
                b'26 24 0:22 / /sys/fs/cgroup/systemd rw shared:11 - cgroup cgroup rw,xattr,name=systemd\n'
                b'99 24 0:26 /lxc/c\\0401 /var/lib/my\\040lxc rw - cgroup cgroup rw,memory\n'
                b'29 24 0:25 / /sys/fs/cgroup/memory rw shared:14 - cgroup cgroup rw,memory\n'
                b'30 24 0:26 / /sys/fs/cgroup/cpu,cpuacct rw shared:15 - cgroup cgroup rw,cpu,cpuacct\n')
V1_CGROUP = (b'12:pids:/system.slice/foo.service\n4:cpu,cpuacct:/system.slice/foo.service\n'
             b'3:memory:/a/init.scope\n1:name=systemd:/system.slice/foo.service\n0::/x\n')
V2_MEMSTAT = (b'anon 1048576\nfile 2097152\nkernel 4096\nshmem 4096\nfile_mapped 8192\n'
              b'file_dirty 0\nfile_writeback 0\nanon_thp 0\ninactive_anon 1000000\n'
              b'active_anon 48576\ninactive_file 1048576\nactive_file 1048576\nunevictable 0\n'
              b'slab_reclaimable 65536\nslab_unreclaimable 32768\nslab 98304\n')
V2_CPUSTAT = b'usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\nnr_periods 0\n'


def main():
    meminfo = rd('/proc/meminfo')
    v1_memstat = rd('/sys/fs/cgroup/memory/memory.stat')
    diskstats = rd('/proc/diskstats')

    for i, p in enumerate(['/sys/fs/cgroup/cpuset/cpuset.cpus', '/sys/devices/system/cpu/online',
                           '/sys/devices/system/cpu/possible']):
        put('cpuset', 'host-%d' % i, rd(p))
    for i, s in enumerate([b'0-3,5,7-8\n', b'', b'3,1-2\n', b'0-1023', b'0-8191', b' 0 ']):
        put('cpuset', 'sample-%d' % i, s)

    hz = u(100, 2)
    put('cpumax', 'cfs-quota', hz + (rd('/sys/fs/cgroup/cpu/cpu.cfs_quota_us') or b'-1\n'))
    put('cpumax', 'cpuacct-stat', hz + (rd('/sys/fs/cgroup/cpuacct/cpuacct.stat') or b''))
    put('cpumax', 'v2-cpu-stat', hz + (rd('/sys/fs/cgroup/unified/cpu.stat') or V2_CPUSTAT))
    put('cpumax', 'v2-sample', hz + V2_CPUSTAT)
    put('cpumax', 'max', hz + b'max 100000\n')
    put('cpumax', 'quota', hz + b'50000 100000\n')

    cpuinfo = rd('/proc/cpuinfo', 65536)
    put('cpuinfo', 'host-cpu1', b'\x02' + cpuinfo)
    put('cpuinfo', 'host-all', b'\x03' + cpuinfo)

    params = u(1, 1) + hz + u(50000, 8) + u(3 * 10**9, 8) + u(10**9, 8)
    usage_all = rd('/sys/fs/cgroup/cpuacct/cpuacct.usage_all') or b''
    put('stat', 'host-v2', params + rd('/proc/stat'))
    put('stat', 'host-v1', u(3, 1) + params[1:] + rd('/proc/stat') + b'\0' + usage_all)

    put('mountinfo', 'host', rd('/proc/self/mountinfo'))
    put('mountinfo', 'v2', V2_MOUNTINFO)
    put('mountinfo', 'v1', V1_MOUNTINFO)
    put('proc-cgroup', 'host', rd('/proc/self/cgroup'))
    put('proc-cgroup', 'v2', b'0::/user.slice/user-1000.slice/session-2.scope\n')
    put('proc-cgroup', 'v1', V1_CGROUP)

    put('memstat', 'v1-host', b'\x01' + (v1_memstat or b''))
    put('memstat', 'v2', b'\x00' + V2_MEMSTAT)
    mparams = u(512 << 20, 8) + u(300 << 20, 8) + u(64 << 20, 8) + u(1 << 20, 8)
    put('meminfo', 'v1-host', b'\x03' + mparams + meminfo + b'\0' + (v1_memstat or b''))
    put('meminfo', 'v2', b'\x02' + mparams + meminfo + b'\0' + V2_MEMSTAT)
    put('meminfo', 'nolimit', b'\x04' + mparams + meminfo + b'\0' + V2_MEMSTAT)

    put('loadavg', 'host', u(3000, 5) + u(2, 2) + rd('/proc/loadavg'))
    put('loadavg', 'sample', u(0, 5) + u(0, 2) + b'0.52 0.31 0.12 1/96 10159\n')

    serviced = rd('/sys/fs/cgroup/blkio/blkio.throttle.io_serviced') or b''
    sbytes = rd('/sys/fs/cgroup/blkio/blkio.throttle.io_service_bytes') or b''
    put('diskstats', 'v1-host', diskstats + b'\0\0' + serviced + b'\0' + sbytes)
    put('diskstats', 'v2', diskstats + b'\0254:0 rbytes=1048576 wbytes=4096 rios=10 wios=1 '
        b'dbytes=0 dios=0\n7:0 rbytes=0 wbytes=0 rios=0 wios=0 dbytes=0 dios=0\n\0\0')
    put('diskstats', 'v1-sample', diskstats + b'\0\0254:0 Read 10\n254:0 Write 2\n254:0 Total 12\n'
        b'Total 12\n\0254:0 Read 40960\n254:0 Write 8192\n')

    put('pidstat', 'self', u(1000, 8) + rd('/proc/self/stat'))
    put('pidstat', 'comm', u(5, 8) + b'42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 '
        b'1 0 9876 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n')

    put('config', 'sample', b'# cgproc\nenabled = yes\ncpu_view = quota\nfiles = meminfo,stat\n'
        b'machine = /a/b\nrundir = /run/cgproc\nlog =\nbogus = 1\n')
    put('config', 'off', b'enabled=no\n')

    for i, s in enumerate([b'536870912\n', b'max\n', b'18446744073709551615', b'cache 1\n'
                           b'total_cache 99\n', b'-1']):
        put('parse', 'sample-%d' % i, s)
    put('parse', 'meminfo', meminfo)


if __name__ == '__main__':
    sys.exit(main())

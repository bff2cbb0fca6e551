#!/usr/bin/env bash
# A/B of d4 builds through the mount: the same fio workloads on a new pool of each build, the builds
# alternating run by run (drift on the shared host hits all alike); prints every run, then the
# median per workload and build. A build is a checkout with its jars built (mvn -o package -DskipTests).
#
#   cli/src/test/bench/ab-mount.sh /tmp/build-before /tmp/build-after       # 3 rounds, about 1 min per build and round
#   REPEAT=5 SIZE=512M RUNTIME=5 cli/src/test/bench/ab-mount.sh A B C
#
# Workloads (all on one file of SIZE on the mount, written by the first): seq-write (1 MiB, buffered,
# end_fsync, on a new file), rand-write-qd1 (4 KiB O_DIRECT psync), buffered-write (4 KiB psync,
# end_fsync), seq-read (1 MiB, page cache dropped first), rand-read-qd1 (4 KiB O_DIRECT psync).
# Needs fio and root (mount). Everything is unmounted and removed at the end, also on failure or Ctrl-C.
set -euo pipefail
REPEAT=${REPEAT:-3}
SIZE=${SIZE:-1G}
RUNTIME=${RUNTIME:-3}
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR..." >&2; exit 2; }
command -v fio >/dev/null || { echo "fio is not installed: apt-get install fio" >&2; exit 1; }
for b in "$@"; do [ -x "$b/d4" ] || { echo "$b has no d4 launcher" >&2; exit 1; }; done

WORK=$(mktemp -d /var/tmp/d4-ab.XXXXXX)
export D4_RUNTIME_DIR=$WORK/run
MNT=$WORK/mnt
RESULTS=$WORK/results
mkdir -p "$MNT" "$D4_RUNTIME_DIR"
CURRENT=
cleanup() {
    if [ -n "$CURRENT" ] && findmnt -n "$MNT" >/dev/null 2>&1; then
        (cd "$CURRENT" && ./d4 umount "$MNT" >/dev/null 2>&1) || fusermount -u "$MNT" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

rate() { # fio JSON on stdin -> the rate of $1 (read/write) as IOPS or MiB/s ($2)
    python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"][0][sys.argv[1]]; print("%.0f" % (j["bw"]/1024 if sys.argv[2]=="mib" else j["iops"]))' "$1" "$2"
}

once() { # $1 build dir, $2 round
    local b=$1 data=$WORK/data
    rm -rf "$data"
    CURRENT=$b
    (cd "$b" && ./d4 mount --data-dir "$data" "$MNT" >/dev/null)
    local f=$MNT/f common="--filename=$MNT/f --size=$SIZE --output-format=json"
    local sw rw bw sr rr
    sw=$(fio --name=sw --rw=write --bs=1m --ioengine=psync --end_fsync=1 --fallocate=none $common | rate write mib)
    rw=$(fio --name=rw --rw=randwrite --bs=4k --direct=1 --ioengine=psync --runtime=$RUNTIME --time_based $common | rate write iops)
    bw=$(fio --name=bw --rw=randwrite --bs=4k --ioengine=psync --end_fsync=1 --runtime=$RUNTIME --time_based $common | rate write iops)
    sr=$(fio --name=sr --rw=read --bs=1m --ioengine=psync --invalidate=1 $common | rate read mib)
    rr=$(fio --name=rr --rw=randread --bs=4k --direct=1 --ioengine=psync --runtime=$RUNTIME --time_based $common | rate read iops)
    (cd "$b" && ./d4 umount "$MNT" >/dev/null)
    CURRENT=
    rm -rf "$data"
    echo "round $2 $b seq-write=$sw rand-write-qd1=$rw buffered-write=$bw seq-read=$sr rand-read-qd1=$rr" | tee -a "$RESULTS"
}

for r in $(seq "$REPEAT"); do
    for b in "$@"; do
        once "$b" "$r"
    done
done

python3 - "$RESULTS" "$@" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    f = line.split()
    for kv in f[3:]:
        k, v = kv.split("=")
        runs[k][f[2]].append(float(v))
units = {"seq-write": "MiB/s", "seq-read": "MiB/s"}
builds = sys.argv[2:]
print("medians of %d runs; last column: last build / first" % len(next(iter(runs.values()))[builds[0]]))
print("%-16s %-6s " % ("workload", "unit") + " ".join("%14s" % b.rstrip("/").split("/")[-1] for b in builds) + "  ratio")
for k, per in runs.items():
    med = [statistics.median(per[b]) for b in builds]
    print("%-16s %-6s " % (k, units.get(k, "IOPS")) + " ".join("%14.0f" % m for m in med) + "  %.2f" % (med[-1] / med[0]))
PY

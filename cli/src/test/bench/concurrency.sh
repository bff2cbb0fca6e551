#!/usr/bin/env bash
# Concurrency through the mount: four fio processes at once, on a fresh d4 mount and on a native
# directory in the same run, and a sequential read of a file fragmented by random writes.
#
#   cli/src/test/bench/concurrency.sh [D4_LAUNCHER] [NATIVE_DIR]
#   RUNTIME=3 REPEAT=3 SIZE=64M cli/src/test/bench/concurrency.sh ./d4 /var/tmp
#
# Jobs (O_DIRECT, psync, 4 KiB unless said; each process has its own file of SIZE):
#   4files-randwrite   4 processes writing at random, each its own file
#   4files-randread    4 processes reading at random, each its own file
#   4files-randrw      4 processes, half reads half writes, each its own file
#   fragmented-read    1 process reading one of those files in order, 1 MiB at a time (MiB/s)
# Prints every run, then the median per job and side and the ratio d4/native. Mounts a new pool
# in a temporary data dir and unmounts it at the end (also on failure or Ctrl-C).
set -euo pipefail
D4=${1:-./d4}
NATIVE=${2:-/var/tmp}
RUNTIME=${RUNTIME:-3}
REPEAT=${REPEAT:-3}
SIZE=${SIZE:-64M}
command -v fio >/dev/null || { echo "fio is not installed: apt-get install fio" >&2; exit 1; }

WORK=$(mktemp -d /tmp/d4-concurrency.XXXXXX)
MNT=$WORK/mnt
NATIVE_DIR=$(mktemp -d "$NATIVE/d4-concurrency.XXXXXX")
mkdir -p "$MNT"
export D4_RUNTIME_DIR=$WORK/run
cleanup() {
    if mountpoint -q "$MNT"; then "$D4" umount "$MNT" >/dev/null 2>&1 || fusermount -u "$MNT" || true; fi
    wait 2>/dev/null || true
    rm -rf "$NATIVE_DIR" "$WORK"
}
trap cleanup EXIT INT TERM
"$D4" mount --data-dir "$WORK/data" "$MNT" >"$WORK/mount.log" 2>&1 &
for _ in $(seq 120); do mountpoint -q "$MNT" && break; sleep 0.5; done
mountpoint -q "$MNT" || { echo "the mount did not come up:" >&2; cat "$WORK/mount.log" >&2; exit 1; }

# one fio run; prints the IOPS (reads + writes) or, with "bw", the MiB/s
run() {
    local what=$1 dir=$2; shift 2
    fio --name=c --directory="$dir" --size="$SIZE" --runtime="$RUNTIME" --ramp_time=1 --time_based \
        --group_reporting --output-format=json --direct=1 --ioengine=psync "$@" 2>/dev/null |
        python3 -c 'import json,sys
j=json.load(sys.stdin)["jobs"][0]
v=j["read"]["iops"]+j["write"]["iops"] if sys.argv[1]=="iops" else (j["read"]["bw_bytes"]+j["write"]["bw_bytes"])/1048576
print("%.0f" % v)' "$what"
}

declare -A RESULTS
for side in d4 native; do
    if [ $side = d4 ]; then dir=$MNT/w; else dir=$NATIVE_DIR/w; fi
    mkdir -p "$dir"
    # lay the four files out in full, so that no job reads a hole
    fio --name=c --directory="$dir" --numjobs=4 --size="$SIZE" --rw=write --bs=1m --ioengine=psync --end_fsync=1 \
        >/dev/null 2>&1
    for r in $(seq "$REPEAT"); do
        a=$(run iops "$dir" --numjobs=4 --rw=randwrite --bs=4k --norandommap --randrepeat=0)
        b=$(run iops "$dir" --numjobs=4 --rw=randread --bs=4k --norandommap --randrepeat=0)
        c=$(run iops "$dir" --numjobs=4 --rw=randrw --rwmixread=50 --bs=4k --norandommap --randrepeat=0)
        d=$(run bw "$dir" --numjobs=1 --rw=read --bs=1m)
        echo "$side run $r: 4files-randwrite $a IOPS, 4files-randread $b IOPS, 4files-randrw $c IOPS, fragmented-read $d MiB/s"
        RESULTS[$side,4files-randwrite]+="$a "
        RESULTS[$side,4files-randread]+="$b "
        RESULTS[$side,4files-randrw]+="$c "
        RESULTS[$side,fragmented-read]+="$d "
    done
    rm -rf "$dir"
done

median() { python3 -c 'import statistics,sys; print("%.0f" % statistics.median(map(float, sys.argv[1:])))' "$@"; }
printf '\n%-18s %10s %10s %10s\n' job native d4 d4/native
for job in 4files-randwrite 4files-randread 4files-randrw fragmented-read; do
    # shellcheck disable=SC2086 # the runs are space-separated numbers
    n=$(median ${RESULTS[native,$job]})
    # shellcheck disable=SC2086
    d=$(median ${RESULTS[d4,$job]})
    printf '%-18s %10s %10s %10s\n' "$job" "$n" "$d" "$(python3 -c "print('%.2f' % ($d / $n))")"
done

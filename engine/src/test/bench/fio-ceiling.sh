#!/usr/bin/env bash
# fio ceiling for DriveBenchmark: the same workloads on the same kind of file (same size, same
# directory), done by fio with io_uring and O_DIRECT, so that the JMH numbers of the drives can be
# compared with what the kernel and the device give. See docs/benchmarks.md.
#
#   engine/src/test/bench/fio-ceiling.sh [DIR]      (DIR: default /var/tmp, as DriveBenchmark's dir)
#
# Environment (defaults in brackets):
#   SIZE [1G]          volume file size (DriveBenchmark's volumeSize)
#   RUNTIME [5]        seconds per job run (after RAMP [1] seconds of warm-up)
#   REPEAT [3]         runs per job; the table shows the median, and every run's IOPS
#   IOENGINE [io_uring] fio ioengine (psync: one synchronous request per thread, like filechannel)
#   DIRECT [1]         1 = O_DIRECT (the io_uring drive's mode); 0 = page cache (the filechannel drive's)
#   INVALIDATE [0]     with DIRECT=0: 0 keeps the file's page cache as the layout left it (like
#                      DriveBenchmark's pageCache=kept), 1 drops it before each run (pageCache=dropped)
#   QD_MODE [iodepth]  iodepth: queue depth N = one fio job with N requests in flight;
#                      threads: N fio threads with one request each (DriveBenchmark's _qdN model)
#   BATCH [1]          with QD_MODE=iodepth: also run every job of queue depth N > 1 in DriveBenchmark's
#                      Batch model (--iodepth_batch_submit=N --iodepth_batch_complete_min=N: submit N,
#                      wait for all N), alternating with the default runs, and print both; 0: default only
#                      (the default model, --iodepth=N alone, is the ceiling of the Window workloads)
#   JOBS [all]         space-separated subset of job names, e.g. JOBS="randread-4k-qd1 read-1m"
#
# The file is written in full once (like DriveBenchmark's preallocation) and shared by all jobs;
# it is deleted on exit, also on failure or Ctrl-C. Needs fio and python3.
set -euo pipefail

DIR=${1:-/var/tmp}
SIZE=${SIZE:-1G}
RUNTIME=${RUNTIME:-5}
RAMP=${RAMP:-1}
REPEAT=${REPEAT:-3}
IOENGINE=${IOENGINE:-io_uring}
DIRECT=${DIRECT:-1}
QD_MODE=${QD_MODE:-iodepth}
INVALIDATE=${INVALIDATE:-0}
BATCH=${BATCH:-1}

log() { echo "fio-ceiling: $*" >&2; }
die() { log "error: $*"; exit 1; }

command -v fio >/dev/null || die "fio is not installed: apt-get install fio"
command -v python3 >/dev/null || die "python3 is not installed: apt-get install python3"
[ -d "$DIR" ] || die "$DIR is not a directory"
case $QD_MODE in iodepth | threads) ;; *) die "QD_MODE must be iodepth or threads, not '$QD_MODE'" ;; esac
[ "$REPEAT" -ge 1 ] || die "REPEAT must be at least 1"
case $BATCH in 0 | 1) ;; *) die "BATCH must be 0 or 1, not '$BATCH'" ;; esac
[ "$QD_MODE" = iodepth ] || BATCH=0 # N threads with one request each have no batches

# name  rw  bs  qd  extra-options  (the JMH benchmarks it is the ceiling of, in the table; Batch:N is
# the Batch workload with -p depth=N, whose ceiling is the "same model" column; Window:N the Window
# workload with -p depth=N, whose ceiling is fio's default model, the "IOPS" column)
ALL_JOBS=(
    "randread-4k-qd1    randread  4k 1  -            randRead4k_qd1"
    "randread-4k-qd16   randread  4k 16 -            randRead4k_qd16,Batch:16,Window:16"
    "randread-4k-qd64   randread  4k 64 -            randRead4k_qd64,Batch:64,Window:64"
    "randwrite-4k-qd1   randwrite 4k 1  -            randWrite4k_qd1"
    "randwrite-4k-qd16  randwrite 4k 16 -            randWrite4k_qd16,Batch:16,Window:16"
    "randwrite-4k-qd64  randwrite 4k 64 -            randWrite4k_qd64,Batch:64,Window:64"
    "randwrite-4k-sync  randwrite 4k 1  --fdatasync=1 randWriteFlush4k_qd1"
    "read-1m            read      1m 1  -            seqRead1m"
    "write-1m           write     1m 1  -            seqWrite1m"
    "read-1m-qd8        read      1m 8  -            seqRead1mBatch,seqRead1mWindow"
    "write-1m-qd8       write     1m 8  -            seqWrite1mBatch,seqWrite1mWindow"
)

WORK=$(mktemp -d "$DIR/d4-fio-ceiling-XXXXXX")
cleanup() { rm -rf -- "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
FILE=$WORK/volume
RESULTS=$WORK/results.tsv
: >"$RESULTS"

MNT=$(findmnt -n -o TARGET,FSTYPE,SOURCE -T "$DIR" 2>/dev/null | tr -s ' ' || echo "?")
log "$(fio --version), dir $DIR (mount: $MNT), size $SIZE, ioengine $IOENGINE, direct=$DIRECT, qd as $QD_MODE (batch model too: $BATCH), ${RUNTIME}s x $REPEAT runs per job"
[ "$DIRECT" = 1 ] || log "page cache: invalidate=$INVALIDATE (0: kept as the layout left it, 1: dropped before each run)"
log "laying out $FILE ($SIZE)"
fio --name=layout --filename="$FILE" --size="$SIZE" --rw=write --bs=1m --ioengine=psync --direct=0 \
    --end_fsync=1 --output-format=json --output="$WORK/layout.json" >/dev/null \
    || die "writing the $SIZE file in $DIR failed (see above)"

# Prints "iops bytes_per_second" of one fio JSON result (read + write, summed over jobs).
parse() {
    python3 - "$1" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    text = f.read()
# fio may print notes before the JSON object
data = json.loads(text[text.index("{"):])
iops = bw = 0.0
for job in data["jobs"]:
    if job.get("error"):
        sys.exit("fio job error %s" % job["error"])
    for d in ("read", "write"):
        iops += job[d]["iops"]
        bw += job[d]["bw_bytes"]
print("%.1f %.1f" % (iops, bw))
EOF
}

# Prints one run's "iops bw", or "fail", of the job in args. $1: a tag for the files, then extra fio arguments.
run_once() {
    local tag=$1 out=$WORK/$1.json res
    shift
    if fio "${args[@]}" "$@" --output="$out" >/dev/null 2>"$WORK/$tag.err" && res=$(parse "$out" 2>>"$WORK/$tag.err"); then
        echo "$res"
    else
        log "$tag failed: $(tail -n 3 "$WORK/$tag.err" | tr '\n' ' ')"
        echo fail
    fi
}

for spec in "${ALL_JOBS[@]}"; do
    read -r name rw bs qd extra jmh <<<"$spec"
    [ "$QD_MODE" = iodepth ] || jmh=${jmh%%,Batch:*} # N threads are no ceiling of the Batch and Window workloads
    if [ -n "${JOBS:-}" ] && [[ " $JOBS " != *" $name "* ]]; then
        continue
    fi
    args=(--name="$name" --filename="$FILE" --size="$SIZE" --rw="$rw" --bs="$bs" --ioengine="$IOENGINE"
          --direct="$DIRECT" --runtime="$RUNTIME" --ramp_time="$RAMP" --time_based --group_reporting
          --norandommap --randrepeat=0 --output-format=json)
    [ "$DIRECT" = 1 ] || args+=(--invalidate="$INVALIDATE")
    if [ "$QD_MODE" = iodepth ]; then
        args+=(--iodepth="$qd")
    else
        args+=(--iodepth=1 --numjobs="$qd" --thread)
    fi
    [ "$extra" = - ] || args+=("$extra")
    batch=0
    [ "$BATCH" = 1 ] && [ "$qd" -gt 1 ] && batch=1
    runs=()
    bruns=()
    for ((r = 1; r <= REPEAT; r++)); do
        log "$name run $r/$REPEAT"
        runs+=("$(run_once "$name.$r")")
        if [ "$batch" = 1 ]; then
            log "$name run $r/$REPEAT, batch model (submit $qd, wait for $qd)"
            bruns+=("$(run_once "$name.batch.$r" --iodepth_batch_submit="$qd" --iodepth_batch_complete_min="$qd")")
        fi
    done
    [ "$batch" = 1 ] || bruns=(-)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$qd" "$jmh" "$extra" "${runs[*]}" "${bruns[*]}" >>"$RESULTS"
done

python3 - "$RESULTS" "$IOENGINE" "$DIRECT" "$QD_MODE" "$DIR" "$MNT" "$SIZE" "$RUNTIME" "$(fio --version)" "$INVALIDATE" "$BATCH" <<'EOF'
import statistics, sys
path, engine, direct, mode, where, mnt, size, runtime, version, invalidate, batch = sys.argv[1:12]
print("fio ceiling: %s, ioengine=%s direct=%s%s, queue depth as %s" % (
    version, engine, direct, "" if direct == "1" else " invalidate=" + invalidate, mode))
print("  file of %s in %s (mount: %s), %s s per run, median of the runs" % (size, where, mnt, runtime))
if batch == "1":
    print("  same model: --iodepth_batch_submit=N --iodepth_batch_complete_min=N (DriveBenchmark's Batch workloads)")

def summary(runs):
    """(median IOPS, median MiB/s, each run's IOPS) of "iops bw iops bw fail ..."; None if all failed."""
    words = runs.split()
    pairs, fails, i = [], 0, 0
    while i < len(words):
        if words[i] == "fail":
            fails += 1
            i += 1
        else:
            pairs.append((float(words[i]), float(words[i + 1])))
            i += 2
    if not pairs:
        return None, "all %d runs failed" % fails
    each = " ".join("%.0f" % p[0] for p in pairs) + (" (%d failed)" % fails if fails else "")
    return (statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs) / 1048576), each

fmt = "%-18s %-36s %10s %9s %12s %9s  %s"
print(fmt % ("job", "JMH benchmark", "IOPS", "MiB/s", "same model", "MiB/s", "IOPS of each run (default | same model)"))
for line in open(path):
    name, qd, jmh, extra, runs, bruns = line.rstrip("\n").split("\t")
    d, each = summary(runs)
    cols = ["failed", "-"] if d is None else ["%.0f" % d[0], "%.1f" % d[1]]
    if bruns == "-":
        cols += ["-", "-"]
    else:
        b, beach = summary(bruns)
        cols += ["failed", "-"] if b is None else ["%.0f" % b[0], "%.1f" % b[1]]
        each += " | " + beach
    print(fmt % tuple([name, jmh] + cols + [each]))
EOF

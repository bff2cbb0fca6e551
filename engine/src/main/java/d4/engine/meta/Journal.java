package d4.engine.meta;

import d4.engine.D4Exception;
import d4.engine.Decoder;
import d4.engine.Encoder;
import d4.engine.Invariant;
import d4.engine.Limits;
import d4.engine.io.Drive;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * The write-ahead journal: a fixed region of volume 0 holding checksummed records, one per
 * committed transaction, after the checkpoint its epoch names.
 *
 * <p>{@link #append} only buffers a record (commit is cheap); {@link #sync} makes every record up to
 * a sequence number durable, and is the group commit: one caller writes the whole pending batch
 * and everyone whose record was in it returns without I/O of their own. Each batch starts on a block
 * boundary and its tail is padded with zeros, so a later batch never rewrites a block holding a
 * durable record (a torn rewrite could destroy it).
 */
public final class Journal {
    static final int RECORD_MAGIC = 0x524a3444; // "D4JR" little-endian
    /**
     * Record header: magic u32, payload length u32, epoch u64, seq u64, op count u16, flags u16,
     * CRC of the previous record u32, reserved u32, CRC u32. The CRC covers the header except the
     * flags and the CRC itself, and the payload; the previous record's CRC chains the records of an
     * epoch, so a stale record left by an earlier session can never pass for the next one.
     */
    static final int HEADER_BYTES = 40;
    static final int FLAGS_OFFSET = 26;
    static final int PREV_CRC_OFFSET = 28;
    static final int CRC_OFFSET = 36;
    static final int FLAG_BATCH_START = 1;

    /** What a sync must make durable before the journal records that reference it: the data blocks. */
    public interface DataBarrier {
        void flushData();
    }

    private final Drive drive;
    private final long regionStartBytes;
    private final long regionBytes;
    private final ReentrantLock syncLock = new ReentrantLock();

    // Guarded by "this": the records committed but not yet written.
    private Encoder pending = new Encoder(64 * 1024);
    private long pendingLastSeq;
    private long appendedSeq;
    private int lastCrc; // CRC of the last appended record of this epoch (0 before the first)

    // Guarded by syncLock (written), volatile for lock-free reads.
    private volatile long durableSeq;
    private long writePosBytes;
    private long inFlightBytes; // a batch taken by sync and not yet written (guarded by "this")
    private long epoch;

    private MemorySegment ioBuffer = MemorySegment.NULL;
    private Arena ioArena = Arena.ofShared();

    public Journal(Drive drive, long regionStartBlock, long regionBlocks) {
        this.drive = drive;
        this.regionStartBytes = regionStartBlock * Limits.BLOCK_BYTES;
        this.regionBytes = regionBlocks * Limits.BLOCK_BYTES;
    }

    public long regionBytes() {
        return regionBytes;
    }

    /** Starts a new epoch at the beginning of the region. Call with no appends or syncs in flight. */
    public void restart(long newEpoch) {
        syncLock.lock();
        try {
            synchronized (this) {
                Invariant.check(pending.position() == 0, "journal restart with %d pending bytes", pending.position());
                epoch = newEpoch;
                writePosBytes = 0;
                appendedSeq = 0;
                lastCrc = 0;
                pendingLastSeq = 0;
                durableSeq = 0;
            }
        } finally {
            syncLock.unlock();
        }
    }

    /** Bytes of the region taken by written and pending records (with padding): when to checkpoint. */
    public synchronized long usedBytes() {
        return writePosBytes + inFlightBytes + align(pending.position());
    }

    /**
     * Buffers one record holding {@code ops}; returns its sequence number, or -1 (nothing buffered)
     * when the record does not fit in the region before a checkpoint.
     */
    public synchronized long append(List<Op> ops) {
        long seq = appendedSeq + 1;
        int start = pending.position();
        if (ops.size() > 0xffff) {
            throw new D4Exception.InvalidArgument("a transaction of " + ops.size() + " changes is too large (at most 65535)");
        }
        pending.i32(RECORD_MAGIC).i32(0).i64(epoch).i64(seq).u16(ops.size()).u16(0).i32(lastCrc).i32(0).i32(0);
        for (Op op : ops) {
            op.encode(pending);
        }
        int payload = pending.position() - start - HEADER_BYTES;
        if (payload > Limits.MAX_JOURNAL_RECORD_BYTES) {
            pending.truncate(start);
            throw new D4Exception.InvalidArgument("a transaction of " + payload + " bytes is too large for the journal"
                    + " (at most " + Limits.MAX_JOURNAL_RECORD_BYTES + "): split it");
        }
        if (writePosBytes + inFlightBytes + align(pending.position()) > regionBytes) {
            pending.truncate(start);
            return -1;
        }
        pending.putI32At(start + 4, payload);
        lastCrc = crc(pending.array(), start, payload);
        pending.putI32At(start + CRC_OFFSET, lastCrc);
        appendedSeq = seq;
        pendingLastSeq = seq;
        return seq;
    }

    /** A record's CRC: its header without the flags and the CRC field, then its payload. */
    static int crc(byte[] buf, int start, int payload) {
        CRC32C c = new CRC32C();
        c.update(buf, start, FLAGS_OFFSET);
        c.update(buf, start + PREV_CRC_OFFSET, CRC_OFFSET - PREV_CRC_OFFSET);
        c.update(buf, start + HEADER_BYTES, payload);
        return (int) c.getValue();
    }

    /**
     * Flags the first record of a batch (the flag is outside the CRC, so the record stays sealed).
     * A batch is written only after the previous one was flushed, so an intact batch start proves
     * every earlier batch was acknowledged: replay uses that to tell a damaged acknowledged record
     * (corruption) from a torn unacknowledged batch (a normal crash).
     */
    private static void markBatchStart(byte[] batch) {
        batch[FLAGS_OFFSET] |= (byte) FLAG_BATCH_START;
    }

    public synchronized long appendedSeq() {
        return appendedSeq;
    }

    public long durableSeq() {
        return durableSeq;
    }

    public synchronized long epoch() {
        return epoch;
    }

    /** True when record {@code seq} of {@code recordEpoch} is durable (a later epoch implies it is). */
    public synchronized boolean isDurable(long recordEpoch, long seq) {
        return recordEpoch < epoch || (recordEpoch == epoch && seq <= durableSeq);
    }

    /** Makes every record up to {@code seq} durable, data first. */
    public void sync(long seq, DataBarrier barrier) {
        if (durableSeq >= seq) {
            return;
        }
        syncLock.lock();
        try {
            if (durableSeq >= seq) {
                return; // a group commit that ran while we waited covered us
            }
            byte[] batch;
            int batchBytes;
            long batchLastSeq;
            synchronized (this) {
                batch = pending.array();
                batchBytes = pending.position();
                batchLastSeq = pendingLastSeq;
                pending = new Encoder(64 * 1024);
                inFlightBytes = align(batchBytes);
            }
            if (batchBytes == 0) {
                return;
            }
            markBatchStart(batch);
            int padded = (int) align(batchBytes);
            // A zero block after the batch (where the region has room) marks the end of the journal:
            // replay then knows a clean end from a damaged record. The next batch overwrites it.
            int trailer = writePosBytes + padded + Limits.BLOCK_BYTES <= regionBytes ? Limits.BLOCK_BYTES : 0;
            try {
                barrier.flushData();
                MemorySegment buf = buffer(padded + trailer);
                MemorySegment.copy(batch, 0, buf, ValueLayout.JAVA_BYTE, 0, batchBytes);
                buf.asSlice(batchBytes, padded + trailer - batchBytes).fill((byte) 0);
                drive.write(regionStartBytes + writePosBytes, buf.asSlice(0, padded + trailer));
                drive.flush();
            } catch (RuntimeException e) {
                // Nothing of the batch is acknowledged: put it back in front of what was appended
                // meanwhile, so that a later sync writes it (the rewrite starts at the same offset).
                synchronized (this) {
                    Encoder restored = new Encoder(batchBytes + pending.position());
                    restored.bytes(java.util.Arrays.copyOf(batch, batchBytes));
                    restored.bytes(pending.toByteArray());
                    pending = restored;
                    inFlightBytes = 0;
                }
                throw e;
            }
            synchronized (this) {
                writePosBytes += padded;
                inFlightBytes = 0;
                durableSeq = batchLastSeq;
            }
        } finally {
            syncLock.unlock();
        }
    }

    private MemorySegment buffer(int bytes) {
        if (ioBuffer.byteSize() < bytes) {
            ioArena.close();
            ioArena = Arena.ofShared();
            ioBuffer = ioArena.allocate(Math.max(bytes, 64 * 1024), Limits.BLOCK_BYTES);
        }
        return ioBuffer;
    }

    private static long align(long bytes) {
        return (bytes + Limits.BLOCK_BYTES - 1) / Limits.BLOCK_BYTES * Limits.BLOCK_BYTES;
    }

    /** What replay found. */
    public record Replay(long records, long lastSeq, long endBytes) {}

    /** A record header as read, with whether the record (header and payload) is intact. */
    private record Header(int magic, int payload, long epoch, long seq, int opCount, int flags, int prevCrc,
            boolean intact) {}

    private Header header(RegionReader in, long pos) {
        byte[] raw = in.read(pos, HEADER_BYTES);
        Decoder h = new Decoder(raw, "journal record header at offset " + pos);
        int magic = h.i32();
        int payload = h.i32();
        long recEpoch = h.i64();
        long seq = h.i64();
        int opCount = h.u16();
        int flags = h.u16();
        int prevCrc = h.i32();
        h.i32();
        int crc = h.i32();
        boolean intact = false;
        if (magic == RECORD_MAGIC && payload >= 0 && payload <= Limits.MAX_JOURNAL_RECORD_BYTES
                && pos + HEADER_BYTES + payload <= regionBytes) {
            byte[] whole = new byte[HEADER_BYTES + payload];
            System.arraycopy(raw, 0, whole, 0, HEADER_BYTES);
            System.arraycopy(in.read(pos + HEADER_BYTES, payload), 0, whole, HEADER_BYTES, payload);
            intact = crc == crc(whole, 0, payload);
        }
        return new Header(magic, payload, recEpoch, seq, opCount, flags, prevCrc, intact);
    }

    /**
     * Reads the records of {@code epoch} from the start of the region and hands each record's ops to
     * {@code apply}, while each is intact, of this epoch, the next in sequence and chained to the one
     * before. Where that stops, the stop must be a clean end: the end of the region, a zero block
     * (each batch is followed by one), or an intact record of another session (stale). Anything else
     * is a damaged or torn record: if an intact later batch of this epoch follows, acknowledged
     * transactions would be lost and replay reports corruption; otherwise it was the torn tail of a
     * batch that was never acknowledged, and replay ends there.
     */
    public Replay replay(long replayEpoch, Consumer<List<Op>> apply) {
        RegionReader in = new RegionReader();
        long pos = 0;
        long expected = 1;
        int prevCrc = 0;
        long records = 0;
        while (true) {
            if (pos % Limits.BLOCK_BYTES != 0) {
                // Records follow each other back to back (headers may straddle blocks); only an
                // all-zero rest of a block is the padding after a batch's last record.
                int rest = (int) (Limits.BLOCK_BYTES - pos % Limits.BLOCK_BYTES);
                if (pos + rest <= regionBytes && isZero(in.read(pos, rest))) {
                    pos += rest;
                    continue;
                }
            }
            if (pos + HEADER_BYTES > regionBytes) {
                break;
            }
            Header h = header(in, pos);
            if (h.intact() && h.epoch() == replayEpoch && h.seq() == expected && h.prevCrc() == prevCrc) {
                Decoder d = new Decoder(in.read(pos + HEADER_BYTES, h.payload()), "journal record " + h.seq());
                List<Op> ops = new ArrayList<>(h.opCount());
                for (int i = 0; i < h.opCount(); i++) {
                    ops.add(Op.decode(d));
                }
                if (d.remaining() != 0) {
                    throw new D4Exception.Corruption("journal record " + h.seq()
                            + " has trailing bytes: the journal is damaged; run d4 fsck");
                }
                apply.accept(ops);
                records++;
                expected++;
                prevCrc = crc(in.read(pos, HEADER_BYTES + h.payload()), 0, h.payload());
                pos += HEADER_BYTES + h.payload();
                continue;
            }
            boolean stale = h.intact(); // intact but not ours: another epoch or an earlier session
            if (!stale) {
                // Also at a zero block (the normal end marker): a lost or zeroed first block of an
                // acknowledged batch looks the same, and only an intact later batch tells them apart.
                checkNoLaterBatch(in, pos / Limits.BLOCK_BYTES * Limits.BLOCK_BYTES + Limits.BLOCK_BYTES, replayEpoch,
                        expected);
            }
            break;
        }
        return new Replay(records, expected - 1, align(pos));
    }

    private static boolean isZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private void checkNoLaterBatch(RegionReader in, long from, long replayEpoch, long expected) {
        for (long p = from; p + HEADER_BYTES <= regionBytes; p += Limits.BLOCK_BYTES) {
            Header h = header(in, p);
            if (h.intact() && h.epoch() == replayEpoch && h.seq() > expected && (h.flags() & FLAG_BATCH_START) != 0) {
                throw new D4Exception.Corruption("journal record " + expected + " is damaged but a later batch (from record "
                        + h.seq() + ") is intact: acknowledged changes would be lost. Do not write to this pool; run d4 fsck");
            }
        }
    }

    /** The epoch of the record at the start of the region, or -1 when there is no intact one. */
    public long firstRecordEpoch() {
        if (regionBytes < HEADER_BYTES) {
            return -1;
        }
        Header h = header(new RegionReader(), 0);
        return h.intact() ? h.epoch() : -1;
    }

    /** Reads the region through a 1 MiB window of whole blocks. */
    private final class RegionReader {
        private static final int WINDOW = 1 << 20;
        private final byte[] window = new byte[WINDOW];
        private long windowStart = -1;
        private int windowLength;

        byte[] read(long pos, int length) {
            if (length > WINDOW / 2) {
                return readDirect(pos, length);
            }
            if (windowStart < 0 || pos < windowStart || pos + length > windowStart + windowLength) {
                windowStart = pos / Limits.BLOCK_BYTES * Limits.BLOCK_BYTES;
                windowLength = (int) Math.min(WINDOW, regionBytes - windowStart);
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment seg = arena.allocate(windowLength, Limits.BLOCK_BYTES);
                    drive.read(regionStartBytes + windowStart, seg);
                    MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, 0, window, 0, windowLength);
                }
            }
            byte[] out = new byte[length];
            System.arraycopy(window, (int) (pos - windowStart), out, 0, length);
            return out;
        }

        private byte[] readDirect(long pos, int length) {
            long from = pos / Limits.BLOCK_BYTES * Limits.BLOCK_BYTES;
            long to = align(pos + length);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = arena.allocate(to - from, Limits.BLOCK_BYTES);
                drive.read(regionStartBytes + from, seg);
                byte[] out = new byte[length];
                MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos - from, out, 0, length);
                return out;
            }
        }
    }

    /** Releases the journal's buffer. */
    public void close() {
        syncLock.lock();
        try {
            ioArena.close();
            ioBuffer = MemorySegment.NULL;
        } finally {
            syncLock.unlock();
        }
    }
}

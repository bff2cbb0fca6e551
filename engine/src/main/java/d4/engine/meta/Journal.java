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
    static final int HEADER_BYTES = 32;
    static final int FLAGS_OFFSET = 26;
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
        pending.i32(RECORD_MAGIC).i32(0).i64(epoch).i64(seq).u16(ops.size()).u16(0).i32(0);
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
        sealRecord(pending.array(), start, payload);
        appendedSeq = seq;
        pendingLastSeq = seq;
        return seq;
    }

    /** Computes a record's CRC over its header (without the CRC field) and payload, and stores it. */
    private static void sealRecord(byte[] buf, int start, int payload) {
        CRC32C crc = new CRC32C();
        crc.update(buf, start, HEADER_BYTES - 4);
        crc.update(buf, start + HEADER_BYTES, payload);
        int v = (int) crc.getValue();
        for (int i = 0; i < 4; i++) {
            buf[start + HEADER_BYTES - 4 + i] = (byte) (v >>> (8 * i));
        }
    }

    /**
     * Flags the first record of a batch. A batch is written only after the previous one was flushed,
     * so an intact batch start proves every earlier batch was acknowledged: replay uses that to tell
     * a damaged acknowledged record (corruption) from a torn unacknowledged batch (a normal crash).
     */
    private static void markBatchStart(byte[] batch) {
        int payload = new Decoder(batch, 4, 4, "journal batch").i32();
        batch[FLAGS_OFFSET] |= (byte) FLAG_BATCH_START;
        sealRecord(batch, 0, payload);
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
            try {
                barrier.flushData();
                MemorySegment buf = buffer(padded);
                MemorySegment.copy(batch, 0, buf, ValueLayout.JAVA_BYTE, 0, batchBytes);
                buf.asSlice(batchBytes, padded - batchBytes).fill((byte) 0);
                drive.write(regionStartBytes + writePosBytes, buf.asSlice(0, padded));
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

    /**
     * Reads the records of {@code epoch} from the start of the region and hands each record's ops to
     * {@code apply}, stopping at the first record that is not the next valid one. A damaged record
     * followed by valid later records means acknowledged transactions would be lost: that is
     * reported as corruption rather than silently truncating the history.
     */
    public Replay replay(long replayEpoch, Consumer<List<Op>> apply) {
        RegionReader in = new RegionReader();
        long pos = 0;
        long expected = 1;
        long records = 0;
        while (true) {
            // Records follow each other back to back, headers may straddle block boundaries; only
            // the zero padding after a batch's last record skips to the next block. A record never
            // starts with a zero byte (its magic's first byte is 'D'), so one byte tells them apart.
            if (pos % Limits.BLOCK_BYTES != 0 && pos < regionBytes && in.read(pos, 1)[0] == 0) {
                pos = align(pos);
                continue;
            }
            if (pos + HEADER_BYTES > regionBytes) {
                break;
            }
            Decoder h = new Decoder(in.read(pos, HEADER_BYTES), "journal record header at offset " + pos);
            int magic = h.i32();
            int payload = h.i32();
            long recEpoch = h.i64();
            long seq = h.i64();
            int opCount = h.u16();
            h.u16(); // flags
            int crc = h.i32();
            if (magic != RECORD_MAGIC || recEpoch != replayEpoch || seq != expected) {
                break;
            }
            boolean fits = payload >= 0 && payload <= Limits.MAX_JOURNAL_RECORD_BYTES
                    && pos + HEADER_BYTES + payload <= regionBytes;
            byte[] body = fits ? in.read(pos + HEADER_BYTES, payload) : null;
            if (!fits || crc != crc(in.read(pos, HEADER_BYTES), body)) {
                checkNothingValidAfter(in, align(pos + 1), replayEpoch, expected);
                break; // a torn tail: the batch was never acknowledged
            }
            Decoder d = new Decoder(body, "journal record " + seq);
            List<Op> ops = new ArrayList<>(opCount);
            for (int i = 0; i < opCount; i++) {
                ops.add(Op.decode(d));
            }
            if (d.remaining() != 0) {
                throw new D4Exception.Corruption("journal record " + seq + " has trailing bytes: the journal is damaged; run d4 fsck");
            }
            apply.accept(ops);
            records++;
            expected++;
            pos += HEADER_BYTES + payload;
        }
        return new Replay(records, expected - 1, align(pos));
    }

    private void checkNothingValidAfter(RegionReader in, long from, long replayEpoch, long expected) {
        for (long p = from; p + HEADER_BYTES <= regionBytes; p += Limits.BLOCK_BYTES) {
            byte[] header = in.read(p, HEADER_BYTES);
            Decoder h = new Decoder(header, "journal record header at offset " + p);
            if (h.i32() != RECORD_MAGIC) {
                continue;
            }
            int payload = h.i32();
            long recEpoch = h.i64();
            long seq = h.i64();
            h.u16();
            int flags = h.u16();
            int crc = h.i32();
            if (recEpoch != replayEpoch || seq <= expected || (flags & FLAG_BATCH_START) == 0 || payload < 0
                    || payload > Limits.MAX_JOURNAL_RECORD_BYTES || p + HEADER_BYTES + payload > regionBytes) {
                continue;
            }
            if (crc == crc(header, in.read(p + HEADER_BYTES, payload))) {
                throw new D4Exception.Corruption("journal record " + expected + " is damaged but a later batch (from record "
                        + seq + ") is intact: acknowledged changes would be lost. Do not write to this pool; run d4 fsck");
            }
        }
    }

    /** The epoch of the record at the start of the region, or -1 when there is no valid one. */
    public long firstRecordEpoch() {
        RegionReader in = new RegionReader();
        if (regionBytes < HEADER_BYTES) {
            return -1;
        }
        byte[] header = in.read(0, HEADER_BYTES);
        Decoder h = new Decoder(header, "journal record header at offset 0");
        if (h.i32() != RECORD_MAGIC) {
            return -1;
        }
        int payload = h.i32();
        long recEpoch = h.i64();
        h.i64();
        h.i32();
        int crc = h.i32();
        if (payload < 0 || payload > Limits.MAX_JOURNAL_RECORD_BYTES || HEADER_BYTES + payload > regionBytes
                || crc != crc(header, in.read(HEADER_BYTES, payload))) {
            return -1;
        }
        return recEpoch;
    }

    private static int crc(byte[] header, byte[] body) {
        CRC32C c = new CRC32C();
        c.update(header, 0, HEADER_BYTES - 4);
        c.update(body, 0, body.length);
        return (int) c.getValue();
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

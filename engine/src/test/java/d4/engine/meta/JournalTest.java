package d4.engine.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.Encoder;
import d4.engine.D4Exception;
import d4.engine.Limits;
import d4.engine.io.ChannelDrive;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The journal on a real file: a region of 64 blocks starting at block 2. */
class JournalTest {
    private static final int START = 2;
    private static final int BLOCKS = 64;

    @TempDir
    Path dir;

    private ChannelDrive drive;

    @BeforeEach
    void setUp() throws Exception {
        Path file = dir.resolve("journal.img");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength((long) (START + BLOCKS + 2) * Limits.BLOCK_BYTES);
        }
        drive = ChannelDrive.open(file, Limits.BLOCK_BYTES);
    }

    @AfterEach
    void tearDown() {
        drive.close();
    }

    private Journal journal(long epoch) {
        Journal j = new Journal(drive, START, BLOCKS);
        j.restart(epoch);
        return j;
    }

    private static byte[] encode(List<Op> ops) {
        Encoder e = new Encoder(64);
        for (Op op : ops) {
            op.encode(e);
        }
        return e.toByteArray();
    }

    private List<byte[]> replay(long epoch) {
        List<byte[]> out = new ArrayList<>();
        new Journal(drive, START, BLOCKS).replay(epoch, ops -> out.add(encode(ops)));
        return out;
    }

    /** One PutEntry op; its value is random, so that damage to it always changes the record's CRC. */
    private static List<Op> entry(int n, int valueBytes) {
        byte[] value = new byte[valueBytes];
        new Random(n).nextBytes(value);
        return List.of(new Op.PutEntry(1, ("key" + n).getBytes(), value));
    }

    private static final Journal.DataBarrier NO_DATA = () -> {};

    @Test
    void syncedRecordsReplayInOrderWithEveryOpKind() {
        Journal j = journal(5);
        List<List<Op>> txns = List.of(
                List.of(new Op.CreateObject(1, new byte[] {1, 2}), new Op.SetAttrs(1, new byte[] {3})),
                List.of(new Op.PutExtent(1, new Extent(0, 0, 100, 2, new int[] {11, 22})), new Op.SetSize(1, 5000)),
                List.of(new Op.PutEntry(1, new byte[] {'k'}, new byte[] {'v'}), new Op.RemoveEntry(1, new byte[] {'k'})),
                List.of(new Op.DeleteObject(1)));
        long seq = 0;
        for (List<Op> t : txns) {
            long s = j.append(t);
            assertEquals(seq + 1, s);
            seq = s;
            j.sync(s, NO_DATA);
        }
        assertEquals(4, j.durableSeq());
        List<byte[]> got = replay(5);
        assertEquals(4, got.size());
        for (int i = 0; i < 4; i++) {
            assertArrayEquals(encode(txns.get(i)), got.get(i), "record " + (i + 1));
        }
        assertTrue(replay(4).isEmpty(), "another epoch's replay finds nothing");
        assertTrue(replay(6).isEmpty());
    }

    @Test
    void onlySyncedRecordsReachTheDriveAndDataIsFlushedFirst() {
        Journal j = journal(1);
        AtomicInteger barriers = new AtomicInteger();
        long a = j.append(entry(1, 10));
        long b = j.append(entry(2, 10));
        assertTrue(replay(1).isEmpty(), "append only buffers");
        assertFalse(j.isDurable(1, a));
        j.sync(b, barriers::incrementAndGet);
        assertEquals(1, barriers.get(), "one data barrier for the group");
        assertTrue(j.isDurable(1, a) && j.isDurable(1, b));
        assertTrue(j.isDurable(0, 99), "an older epoch is durable");
        j.sync(b, barriers::incrementAndGet);
        assertEquals(1, barriers.get(), "nothing left to sync: no barrier, no I/O");
        j.append(entry(3, 10));
        assertEquals(2, replay(1).size());
    }

    @Test
    void usedBytesGrowsByWholeBlocksPerBatchAndAppendRefusesWhenFull() {
        Journal j = journal(1);
        assertEquals(0, j.usedBytes());
        assertEquals((long) BLOCKS * Limits.BLOCK_BYTES, j.regionBytes());
        j.sync(j.append(entry(0, 10)), NO_DATA);
        assertEquals(Limits.BLOCK_BYTES, j.usedBytes());
        int n = 1;
        long seq;
        while ((seq = j.append(entry(n, 3000))) > 0) {
            j.sync(seq, NO_DATA);
            n++;
        }
        assertEquals(BLOCKS, n, "one block per synced batch until the region is full");
        assertEquals((long) BLOCKS * Limits.BLOCK_BYTES, j.usedBytes());
        assertEquals(BLOCKS, replay(1).size());
        // After a restart with a new epoch the region is reused and the old records no longer replay.
        j.restart(2);
        assertEquals(0, j.usedBytes());
        j.sync(j.append(entry(0, 10)), NO_DATA);
        assertEquals(1, replay(2).size());
        assertTrue(replay(1).isEmpty(), "record 1 of epoch 1 was overwritten; the rest must not be replayed");
    }

    @Test
    void recordsLargerThanTheLimitAreRefused() {
        Journal j = journal(1);
        assertThrows(D4Exception.InvalidArgument.class, () -> j.append(entry(1, Limits.MAX_JOURNAL_RECORD_BYTES)));
        assertEquals(0, j.usedBytes(), "nothing of the refused record stays buffered");
        j.sync(j.append(entry(2, 1)), NO_DATA);
        assertEquals(1, replay(1).size());
    }

    @Test
    void groupCommitOfSmallRecordsWithinOneBlockReplays() {
        Journal j = journal(3);
        for (int i = 0; i < 20; i++) {
            j.append(entry(i, 100));
        }
        j.sync(20, NO_DATA);
        assertEquals(20, replay(3).size());
    }

    @Test
    void aTornLastBatchIsDroppedWhole() {
        Journal j = journal(3);
        j.sync(j.append(entry(0, 10)), NO_DATA); // record 1, block 0, acknowledged
        for (int i = 1; i <= 5; i++) {
            j.append(entry(i, 1500)); // records 2..6 of 1553 bytes: one batch over blocks 1..2
        }
        j.sync(6, NO_DATA);
        assertEquals(6, replay(3).size());
        // The batch's second block never reached the disk.
        writeZeros(START + 2);
        assertEquals(3, replay(3).size(), "only the acknowledged record and the intact records before the tear");
    }

    private void writeZeros(long block) {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            drive.write(block * Limits.BLOCK_BYTES, arena.allocate(Limits.BLOCK_BYTES, Limits.BLOCK_BYTES));
        }
    }

    /**
     * One batch (one write, one flush) of records A (blocks 0-1), B (ends exactly at the end of block
     * 1) and C (starts at block 2). A crash before the flush may persist blocks 0 and 2 but not 1: no
     * record of the batch was acknowledged, yet replay finds A damaged and C intact and reports
     * Corruption ("acknowledged changes would be lost"), so the pool does not open.
     */
    @Test
    void aTornBatchWhoseLaterBlockSurvivedIsNotCorruption() {
        Journal j = journal(3);
        // Record = 32 + 17 + key (4) + value bytes.
        j.append(entry(0, 6000 - 53));           // A: bytes 0..5999
        j.append(entry(1, 2 * Limits.BLOCK_BYTES - 6000 - 53)); // B: bytes 6000..8191
        long c = j.append(entry(2, 10));        // C: starts at 8192, block 2
        j.sync(c, NO_DATA);
        assertEquals(3, replay(3).size());
        writeZeros(START + 1); // block 1 of the batch lost, blocks 0 and 2 persisted
        assertEquals(0, replay(3).size(), "the torn batch is dropped whole");
    }

    @Test
    void groupCommitSpanningBlocksReplaysEveryRecord() {
        Journal j = journal(3);
        Random r = new Random(8);
        int n = 0;
        long seq = 0;
        while (n < 300) {
            seq = j.append(entry(n, r.nextInt(700)));
            n++;
        }
        j.sync(seq, NO_DATA);
        assertEquals(300, replay(3).size(), "300 records synced in one batch");
    }

    @Test
    
    void recordStartingTenBytesBeforeABlockEndIsReplayed() {
        Journal j = journal(3);
        // Record = 32-byte header + PutEntry (1 + 8 + 4 + key + 4 + value); key "key0" is 4 bytes.
        j.append(entry(0, Limits.BLOCK_BYTES - 10 - 32 - 17 - 4));
        long last = j.append(entry(1, 5));
        j.sync(last, NO_DATA);
        assertEquals(2, replay(3).size());
    }

    /** Regression: a damaged magic (not only a damaged payload) of an acknowledged record is reported. */
    @Test
    void aDamagedHeaderOfAnAcknowledgedRecordIsCorruptionNotASilentEnd() throws Exception {
        Journal j = journal(3);
        for (int n = 0; n < 3; n++) {
            j.sync(j.append(entry(n, 100)), NO_DATA); // three batches: blocks 0, 1 and 2 of the region
        }
        assertEquals(3, replay(3).size());
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("journal.img").toFile(), "rw")) {
            f.seek((long) (START + 1) * Limits.BLOCK_BYTES); // the magic of record 2
            f.write(new byte[] {0, 0, 0, 0});
        }
        D4Exception.Corruption e = assertThrows(D4Exception.Corruption.class, () -> replay(3));
        assertTrue(e.getMessage().contains("record 2"), e.getMessage());
    }

    /** Records of an earlier epoch left behind a new epoch's records are never replayed as its own. */
    @Test
    void recordsOfAnEarlierEpochBehindTheNewOnesAreIgnored() {
        Journal j = journal(4);
        for (int n = 0; n < 4; n++) {
            j.sync(j.append(entry(n, 4096 - 40)), NO_DATA); // each record fills exactly one block
        }
        Journal next = journal(5); // the pool starts a new epoch at every open and checkpoint
        next.sync(next.append(entry(10, 4096 - 40)), NO_DATA);
        next.sync(next.append(entry(11, 4096 - 40)), NO_DATA);
        List<byte[]> replayed = replay(5);
        assertEquals(2, replayed.size());
        assertArrayEquals(encode(entry(11, 4096 - 40)), replayed.get(1));
    }

    /** Regression: a zeroed first block of an acknowledged batch is not taken for the end marker. */
    @Test
    void aZeroedBlockFollowedByAnIntactLaterBatchIsCorruption() throws Exception {
        Journal j = journal(6);
        for (int n = 0; n < 3; n++) {
            j.sync(j.append(entry(n, 100)), NO_DATA);
        }
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("journal.img").toFile(), "rw")) {
            f.seek((long) (START + 1) * Limits.BLOCK_BYTES); // batch 2, all of its block
            f.write(new byte[Limits.BLOCK_BYTES]);
        }
        assertThrows(D4Exception.Corruption.class, () -> replay(6));
    }
}

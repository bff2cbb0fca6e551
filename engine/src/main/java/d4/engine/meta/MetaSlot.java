package d4.engine.meta;

import d4.engine.D4Exception;
import d4.engine.Decoder;
import d4.engine.Encoder;
import d4.engine.Limits;
import d4.engine.alloc.Run;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * One of the two alternating meta slots (blocks 1 and 2 of volume 0). A slot publishes a
 * checkpoint: the address of the metadata tree's root, the generation (also the epoch of the journal
 * records that follow it) and where the checkpoint's space table lies (see {@link SpaceTable}),
 * itself stored in up to {@link #MAX_RUNS} runs, so a fragmented pool can still checkpoint. The
 * valid slot with the highest generation wins, so a torn slot write leaves the previous one in
 * charge. Layout in docs/format.md ("Meta slot").
 */
public record MetaSlot(long generation, long treeRoot, long tableBytes, int tableCrc, List<Run> tableRuns) {
    static final byte[] MAGIC = "D4METASL".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 2;
    static final int HEADER_BYTES = 64;
    static final int RUN_BYTES = 16;
    static final int CRC_OFFSET = Limits.BLOCK_BYTES - 4;
    public static final int MAX_RUNS = (CRC_OFFSET - HEADER_BYTES) / RUN_BYTES;

    public MetaSlot {
        tableRuns = List.copyOf(tableRuns);
        if (tableRuns.size() > MAX_RUNS) {
            throw new D4Exception.NoSpace("free space is too fragmented to store the metadata checkpoint's space table in "
                    + MAX_RUNS + " runs: delete files to free space");
        }
    }

    /** The slot block this generation is written to: generations alternate between A and B. */
    public static int slotFor(long generation) {
        return (int) (generation & 1);
    }

    public byte[] encode() {
        Encoder e = new Encoder(Limits.BLOCK_BYTES);
        e.bytes(MAGIC).i32(VERSION).i32(0).i64(generation).i64(treeRoot).i32(tableRuns.size()).i64(tableBytes)
                .i32(tableCrc).zeros(HEADER_BYTES - 48);
        for (Run r : tableRuns) {
            e.i32(r.volume()).i64(r.startBlock()).i32(r.lengthBlocks());
        }
        e.zeros(CRC_OFFSET - e.position());
        CRC32C c = new CRC32C();
        c.update(e.array(), 0, CRC_OFFSET);
        e.i32((int) c.getValue());
        return e.toByteArray();
    }

    /** The format version of an intact slot block of any version, or -1 when it is blank or damaged. */
    public static int versionOf(byte[] block) {
        if (block.length != Limits.BLOCK_BYTES || !Arrays.equals(block, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            return -1;
        }
        CRC32C c = new CRC32C();
        c.update(block, 0, CRC_OFFSET);
        if ((int) c.getValue() != new Decoder(block, CRC_OFFSET, 4, "meta slot").i32()) {
            return -1;
        }
        return new Decoder(block, MAGIC.length, 4, "meta slot").i32();
    }

    /** Decodes a slot block; returns null when the slot is blank, damaged or of another version (the other slot may serve). */
    public static MetaSlot decodeOrNull(byte[] block) {
        if (versionOf(block) != VERSION) {
            return null;
        }
        Decoder d = new Decoder(block, MAGIC.length + 8, CRC_OFFSET - MAGIC.length - 8, "meta slot");
        long generation = d.i64();
        long root = d.i64();
        int runCount = d.i32();
        long tableBytes = d.i64();
        int tableCrc = d.i32();
        d.skip(HEADER_BYTES - 48);
        if (runCount < 0 || runCount > MAX_RUNS || generation < 1 || root <= 0 || tableBytes < 0) {
            return null;
        }
        List<Run> runs = new ArrayList<>(runCount);
        for (int i = 0; i < runCount; i++) {
            int volume = d.i32();
            long start = d.i64();
            int length = d.i32();
            if (volume < 0 || start < 0 || length <= 0) {
                return null;
            }
            runs.add(new Run(volume, start, length));
        }
        return new MetaSlot(generation, root, tableBytes, tableCrc, runs);
    }

    /**
     * What a checkpoint changed in free space after it stored the bitmap in the tree: the pages it
     * allocated for the tree ({@code used}) and the blocks it let go when it was published
     * ({@code freed}: pages the new tree no longer references, and the previous space table). Open
     * loads the stored bitmap, then marks {@code used}, frees {@code freed} and marks the table's own
     * runs (listed in the slot) used.
     */
    public record SpaceTable(List<Run> used, List<Run> freed) {
        public SpaceTable {
            used = List.copyOf(used);
            freed = List.copyOf(freed);
        }

        public byte[] encode() {
            Encoder e = new Encoder(16 + RUN_BYTES * (used.size() + freed.size()));
            for (List<Run> runs : List.of(used, freed)) {
                e.i64(runs.size());
                for (Run r : runs) {
                    e.i32(r.volume()).i64(r.startBlock()).i32(r.lengthBlocks());
                }
            }
            return e.toByteArray();
        }

        public static SpaceTable decode(byte[] table) {
            Decoder d = new Decoder(table, "checkpoint space table");
            List<Run> used = runs(d);
            List<Run> freed = runs(d);
            if (d.remaining() != 0) {
                throw new D4Exception.Corruption("the checkpoint space table has trailing bytes: the metadata is damaged;"
                        + " run d4 fsck");
            }
            return new SpaceTable(used, freed);
        }

        private static List<Run> runs(Decoder d) {
            long count = d.i64();
            if (count < 0 || count > d.remaining() / RUN_BYTES) {
                throw new D4Exception.Corruption("the checkpoint space table claims " + count
                        + " runs: the metadata is damaged; run d4 fsck");
            }
            List<Run> runs = new ArrayList<>((int) count);
            for (long i = 0; i < count; i++) {
                int volume = d.i32();
                long start = d.i64();
                int length = d.i32();
                if (volume < 0 || start < 0 || length <= 0) {
                    throw new D4Exception.Corruption("the checkpoint space table holds an impossible run: the metadata is"
                            + " damaged; run d4 fsck");
                }
                runs.add(new Run(volume, start, length));
            }
            return runs;
        }
    }
}

package d4.engine.volume;

import d4.engine.D4Exception;
import d4.engine.Decoder;
import d4.engine.Encoder;
import d4.engine.Limits;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * The first block of every volume (and a copy in its last block): who the volume belongs to and
 * where its regions lie. Byte layout in docs/format.md ("Superblock"); it occupies the first
 * {@link #ENCODED_BYTES} bytes of the block, the rest is zero.
 */
public record Superblock(
        int formatVersion,
        int blockSizeBytes,
        UUID poolUuid,
        UUID volumeUuid,
        int volumeIndex,
        int volumeCount,
        long sizeBytes,
        long journalStartBlock,
        long journalBlocks,
        long dataStartBlock,
        long dataEndBlock,
        long createdEpochMillis,
        String poolName,
        int copies) {

    public static final byte[] MAGIC = "D4VOLUME".getBytes(StandardCharsets.US_ASCII);
    public static final int FORMAT_VERSION = 2;
    public static final int ENCODED_BYTES = 512;
    private static final int CRC_OFFSET = ENCODED_BYTES - 4;

    /** Block numbers of the fixed regions at the start of every volume. */
    public static final long SUPERBLOCK_BLOCK = 0;

    public static final long META_SLOT_A_BLOCK = 1;
    public static final long META_SLOT_B_BLOCK = 2;
    public static final long FIRST_FREE_BLOCK = 3;

    /** This superblock with another member count (d4 volume add and remove change it). */
    public Superblock withVolumeCount(int count) {
        return new Superblock(formatVersion, blockSizeBytes, poolUuid, volumeUuid, volumeIndex, count, sizeBytes,
                journalStartBlock, journalBlocks, dataStartBlock, dataEndBlock, createdEpochMillis, poolName, copies);
    }

    public long superblockCopyBlock() {
        return sizeBytes / blockSizeBytes - 1;
    }

    public byte[] encode() {
        byte[] name = poolName.getBytes(StandardCharsets.UTF_8);
        Encoder e = new Encoder(ENCODED_BYTES);
        e.bytes(MAGIC)
                .i32(formatVersion)
                .i32(blockSizeBytes)
                .i64(poolUuid.getMostSignificantBits())
                .i64(poolUuid.getLeastSignificantBits())
                .i64(volumeUuid.getMostSignificantBits())
                .i64(volumeUuid.getLeastSignificantBits())
                .i32(volumeIndex)
                .i32(volumeCount)
                .i64(sizeBytes)
                .i64(journalStartBlock)
                .i64(journalBlocks)
                .i64(dataStartBlock)
                .i64(dataEndBlock)
                .i64(createdEpochMillis)
                .u16(name.length)
                .bytes(name)
                .u8(copies);
        e.zeros(CRC_OFFSET - e.position());
        byte[] out = e.toByteArray();
        e.i32(crc(out, CRC_OFFSET));
        return e.toByteArray();
    }

    static int crc(byte[] b, int length) {
        CRC32C c = new CRC32C();
        c.update(b, 0, length);
        return (int) c.getValue();
    }

    /** True when the block starts with the superblock magic (whatever its state). */
    public static boolean hasMagic(byte[] block) {
        return block.length >= MAGIC.length && Arrays.equals(block, 0, MAGIC.length, MAGIC, 0, MAGIC.length);
    }

    /**
     * Decodes and validates a superblock.
     *
     * @param where names the copy for error messages, e.g. "superblock of /var/lib/d4/v0.d4vol"
     */
    public static Superblock decode(byte[] block, String where) {
        if (block.length < ENCODED_BYTES || !hasMagic(block)) {
            throw new D4Exception.Corruption(where + " has no d4 magic: this is not a d4 volume, or its first block is damaged");
        }
        Decoder d = new Decoder(block, 0, ENCODED_BYTES, where);
        d.skip(MAGIC.length);
        int version = d.i32();
        int storedCrc = new Decoder(block, CRC_OFFSET, 4, where).i32();
        boolean crcOk = storedCrc == crc(block, CRC_OFFSET);
        if (version != FORMAT_VERSION) {
            // An intact superblock of another version was written by another d4 release: say so
            // rather than calling it damaged. Without a valid CRC it may be either.
            if (crcOk) {
                throw new D4Exception.PoolUnavailable(where + " has format version " + version + "; this d4 reads version "
                        + FORMAT_VERSION + ": use the d4 release that formatted it (or a newer one)");
            }
            throw new D4Exception.Corruption(where + " is damaged, or has a format version (" + version
                    + ") this d4 does not know; if a newer d4 formatted it, use that release");
        }
        if (!crcOk) {
            throw new D4Exception.Corruption(where + " fails its CRC32C check (damaged)");
        }
        int blockSize = d.i32();
        UUID pool = new UUID(d.i64(), d.i64());
        UUID volume = new UUID(d.i64(), d.i64());
        int index = d.i32();
        int count = d.i32();
        long size = d.i64();
        long journalStart = d.i64();
        long journalBlocks = d.i64();
        long dataStart = d.i64();
        long dataEnd = d.i64();
        long created = d.i64();
        int nameLength = d.u16();
        if (nameLength > Limits.MAX_POOL_NAME_BYTES) {
            throw new D4Exception.Corruption(where + " is damaged: pool name of " + nameLength + " bytes");
        }
        String name = new String(d.bytes(nameLength), StandardCharsets.UTF_8);
        // copies (u8) follows the name; volumes formatted before it existed hold a zero there: one copy.
        int copies = Math.max(1, d.u8());
        Superblock sb = new Superblock(version, blockSize, pool, volume, index, count, size, journalStart,
                journalBlocks, dataStart, dataEnd, created, name, copies);
        sb.validate(where);
        return sb;
    }

    /** Cross-checks the fields against each other; a checksum cannot catch a bug that wrote them wrong. */
    public void validate(String where) {
        boolean ok = blockSizeBytes == Limits.BLOCK_BYTES
                && volumeCount >= 1
                && volumeIndex >= 0
                && volumeIndex < volumeCount
                && sizeBytes >= Limits.MIN_VOLUME_BYTES
                && sizeBytes % blockSizeBytes == 0
                && journalStartBlock == FIRST_FREE_BLOCK
                && journalBlocks >= 0
                && (volumeIndex == 0) == (journalBlocks > 0)
                && dataStartBlock == journalStartBlock + journalBlocks
                && dataEndBlock == superblockCopyBlock()
                && dataStartBlock < dataEndBlock
                && (copies == 1 || copies == 2 && volumeCount >= 2);
        if (!ok) {
            throw new D4Exception.Corruption(where + " has inconsistent fields: " + this);
        }
    }
}

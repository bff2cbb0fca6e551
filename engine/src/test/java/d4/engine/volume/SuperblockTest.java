package d4.engine.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.D4Exception;
import d4.engine.Limits;
import java.util.Arrays;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class SuperblockTest {
    private static final long SIZE = 64L << 20;
    private static final long BLOCKS = SIZE / Limits.BLOCK_BYTES;

    private static Superblock sample(int version, int index, int count, long journalBlocks, String name) {
        long dataStart = Superblock.FIRST_FREE_BLOCK + journalBlocks;
        return new Superblock(version, Limits.BLOCK_BYTES, UUID.randomUUID(), UUID.randomUUID(), index, count, SIZE,
                Superblock.FIRST_FREE_BLOCK, journalBlocks, dataStart, BLOCKS - 1, 1_700_000_000_000L, name, 1);
    }

    @Test
    void encodeDecodeRoundTrip() {
        for (Superblock sb : new Superblock[] {
                sample(Superblock.FORMAT_VERSION, 0, 1, 1024, "pool"),
                sample(Superblock.FORMAT_VERSION, 1, 3, 0, "x".repeat(64)),
                sample(Superblock.FORMAT_VERSION, 0, 2, 1, "a.b_c-9")}) {
            byte[] enc = sb.encode();
            assertEquals(Superblock.ENCODED_BYTES, enc.length);
            assertTrue(Superblock.hasMagic(enc));
            assertEquals(sb, Superblock.decode(enc, "test"));
            // Inside a whole block (the rest zero) it decodes the same.
            byte[] block = Arrays.copyOf(enc, Limits.BLOCK_BYTES);
            assertEquals(sb, Superblock.decode(block, "test"));
            assertEquals(BLOCKS - 1, sb.superblockCopyBlock());
        }
    }

    @Test
    void everyFlippedByteIsCaught() {
        Superblock sb = sample(Superblock.FORMAT_VERSION, 0, 1, 1024, "pool");
        byte[] enc = sb.encode();
        for (int i = 0; i < enc.length; i++) {
            byte[] bad = enc.clone();
            bad[i] ^= 1;
            final int at = i;
            D4Exception.Corruption e = assertThrows(D4Exception.Corruption.class, () -> Superblock.decode(bad, "where-" + at),
                    "flip at byte " + i);
            assertTrue(e.getMessage().startsWith("where-" + at), e.getMessage());
            if (i >= Superblock.MAGIC.length) {
                assertTrue(e.getMessage().contains("CRC32C") || e.getMessage().contains("damaged"), e.getMessage());
            }
        }
    }

    @Test
    void zerosOrForeignBytesHaveNoMagic() {
        D4Exception.Corruption e = assertThrows(D4Exception.Corruption.class,
                () -> Superblock.decode(new byte[Limits.BLOCK_BYTES], "superblock of /dev/null"));
        assertTrue(e.getMessage().contains("superblock of /dev/null") && e.getMessage().contains("magic"), e.getMessage());
        assertFalse(Superblock.hasMagic(new byte[3]));
        assertThrows(D4Exception.Corruption.class, () -> Superblock.decode(Arrays.copyOf(Superblock.MAGIC, 100), "short"));
    }

    @Test
    void otherFormatVersionIsRefusedByName() {
        // Version 1 pools kept the whole index in one checkpoint image (before the B+tree).
        byte[] enc = sample(1, 0, 1, 1024, "pool").encode();
        // An intact superblock of another version is another release's volume, not damage.
        D4Exception.PoolUnavailable e = assertThrows(D4Exception.PoolUnavailable.class, () -> Superblock.decode(enc, "sb"));
        assertTrue(e.getMessage().contains("format version 1"), e.getMessage());
    }

    @Test
    void inconsistentFieldsAreRefusedEvenWithAGoodChecksum() {
        Superblock good = sample(Superblock.FORMAT_VERSION, 0, 1, 1024, "pool");
        Superblock[] bad = {
            new Superblock(Superblock.FORMAT_VERSION, 512, good.poolUuid(), good.volumeUuid(), 0, 1, SIZE, 3, 1024, 1027, BLOCKS - 1, 0, "p", 1),
            new Superblock(Superblock.FORMAT_VERSION, Limits.BLOCK_BYTES, good.poolUuid(), good.volumeUuid(), 1, 1, SIZE, 3, 0, 3, BLOCKS - 1, 0, "p", 1),
            new Superblock(Superblock.FORMAT_VERSION, Limits.BLOCK_BYTES, good.poolUuid(), good.volumeUuid(), 0, 1, SIZE, 3, 0, 3, BLOCKS - 1, 0, "p", 1),
            new Superblock(Superblock.FORMAT_VERSION, Limits.BLOCK_BYTES, good.poolUuid(), good.volumeUuid(), 0, 1, SIZE, 3, 1024, 1028, BLOCKS - 1, 0, "p", 1),
            new Superblock(Superblock.FORMAT_VERSION, Limits.BLOCK_BYTES, good.poolUuid(), good.volumeUuid(), 0, 1, SIZE, 3, 1024, 1027, BLOCKS, 0, "p", 1),
            new Superblock(Superblock.FORMAT_VERSION, Limits.BLOCK_BYTES, good.poolUuid(), good.volumeUuid(), 0, 1, 1L << 20, 3, 10, 13, 255, 0, "p", 1),
        };
        for (Superblock sb : bad) {
            byte[] enc = sb.encode();
            D4Exception.Corruption e = assertThrows(D4Exception.Corruption.class, () -> Superblock.decode(enc, "sb"), sb.toString());
            assertTrue(e.getMessage().contains("inconsistent"), e.getMessage());
        }
    }

    @Test
    void overlongPoolNameIsCorruption() {
        byte[] enc = sample(Superblock.FORMAT_VERSION, 0, 1, 1024, "x".repeat(65)).encode();
        assertThrows(D4Exception.Corruption.class, () -> Superblock.decode(enc, "sb"));
        assertArrayEquals(Superblock.MAGIC, Arrays.copyOf(enc, 8));
    }
}

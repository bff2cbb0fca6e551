package d4.engine.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import d4.engine.D4Exception;
import d4.engine.Limits;
import d4.engine.alloc.Run;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class MetaSlotTest {
    @Test
    void encodeDecodeRoundTrip() {
        MetaSlot s = new MetaSlot(7, 123_456, 40, 77, List.of(new Run(0, 1027, 20), new Run(1, 3, 11)));
        byte[] enc = s.encode();
        assertEquals(Limits.BLOCK_BYTES, enc.length);
        assertEquals(s, MetaSlot.decodeOrNull(enc));
        assertEquals(MetaSlot.VERSION, MetaSlot.versionOf(enc));
        MetaSlot none = new MetaSlot(1, 1, 0, 0, List.of());
        assertEquals(none, MetaSlot.decodeOrNull(none.encode()));
    }

    @Test
    void theMostRunsASlotHoldsRoundTrip() {
        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < MetaSlot.MAX_RUNS; i++) {
            runs.add(new Run(i % 3, 1000L + 10L * i, 1 + i % 7));
        }
        MetaSlot s = new MetaSlot(Long.MAX_VALUE / 3, Long.MAX_VALUE / 5, Long.MAX_VALUE / 7, -2, runs);
        assertEquals(s, MetaSlot.decodeOrNull(s.encode()));
        runs.add(new Run(0, 1, 1));
        assertThrows(D4Exception.NoSpace.class, () -> new MetaSlot(1, 1, 0, 0, runs));
    }

    @Test
    void spaceTableRoundTripsAndRejectsDamage() {
        List<Run> used = new ArrayList<>();
        List<Run> freed = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            (i % 3 == 0 ? freed : used).add(new Run(i % 2, 5000L + 3L * i, 1 + i % 3));
        }
        MetaSlot.SpaceTable t = new MetaSlot.SpaceTable(used, freed);
        byte[] table = t.encode();
        assertEquals(t, MetaSlot.SpaceTable.decode(table));
        byte[] lying = table.clone();
        lying[0] = (byte) 0xff; // claims more runs than it holds
        assertThrows(D4Exception.Corruption.class, () -> MetaSlot.SpaceTable.decode(lying));
        byte[] longer = Arrays.copyOf(table, table.length + 16);
        assertThrows(D4Exception.Corruption.class, () -> MetaSlot.SpaceTable.decode(longer), "trailing bytes");
    }

    @Test
    void aSlotOfAnotherVersionIsNotRead() {
        byte[] enc = new MetaSlot(3, 99, 16, 1, List.of(new Run(0, 40, 1))).encode();
        enc[8] = 1; // version 1 (the whole-index image format), CRC recomputed so that it is intact
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(enc, 0, Limits.BLOCK_BYTES - 4);
        int crc = (int) c.getValue();
        for (int i = 0; i < 4; i++) {
            enc[Limits.BLOCK_BYTES - 4 + i] = (byte) (crc >>> 8 * i);
        }
        assertEquals(1, MetaSlot.versionOf(enc));
        assertNull(MetaSlot.decodeOrNull(enc));
    }

    @Test
    void anyDamageMakesTheSlotUnreadable() {
        MetaSlot s = new MetaSlot(42, 9000, 24, 5, List.of(new Run(0, 1027, 3)));
        byte[] enc = s.encode();
        for (int i = 0; i < enc.length; i += 37) {
            byte[] bad = enc.clone();
            bad[i] ^= (byte) 0x80;
            assertNull(MetaSlot.decodeOrNull(bad), "flip at " + i);
        }
        byte[] bad = enc.clone();
        bad[enc.length - 1] ^= 1; // the CRC itself
        assertNull(MetaSlot.decodeOrNull(bad));
        assertNull(MetaSlot.decodeOrNull(new byte[Limits.BLOCK_BYTES]), "a blank slot");
        assertNull(MetaSlot.decodeOrNull(Arrays.copyOf(enc, 512)), "a short block");
    }

    @Test
    void generationsAlternateBetweenTheTwoSlots() {
        assertEquals(1, MetaSlot.slotFor(1));
        assertEquals(0, MetaSlot.slotFor(2));
        assertEquals(1, MetaSlot.slotFor(3));
        for (long g = 1; g < 100; g++) {
            assertNotEquals(MetaSlot.slotFor(g), MetaSlot.slotFor(g + 1));
        }
    }
}

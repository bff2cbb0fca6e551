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
        MetaSlot s = new MetaSlot(7, 123_456, 0xdeadbeef, 40, 77, List.of(new Run(0, 1027, 20), new Run(1, 3, 11)));
        byte[] enc = s.encode();
        assertEquals(Limits.BLOCK_BYTES, enc.length);
        assertEquals(s, MetaSlot.decodeOrNull(enc));
        MetaSlot none = new MetaSlot(1, 0, 0, 0, 0, List.of());
        assertEquals(none, MetaSlot.decodeOrNull(none.encode()));
    }

    @Test
    void theMostRunsASlotHoldsRoundTrip() {
        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < MetaSlot.MAX_RUNS; i++) {
            runs.add(new Run(i % 3, 1000L + 10L * i, 1 + i % 7));
        }
        MetaSlot s = new MetaSlot(Long.MAX_VALUE / 3, Long.MAX_VALUE / 5, -1, Long.MAX_VALUE / 7, -2, runs);
        assertEquals(s, MetaSlot.decodeOrNull(s.encode()));
        runs.add(new Run(0, 1, 1));
        assertThrows(D4Exception.NoSpace.class, () -> new MetaSlot(1, 0, 0, 0, 0, runs));
    }

    @Test
    void runTableRoundTripsAndRejectsDamage() {
        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            runs.add(new Run(i % 2, 5000L + 3L * i, 1 + i % 3));
        }
        byte[] table = MetaSlot.encodeTable(runs);
        assertEquals(runs, MetaSlot.decodeTable(table));
        byte[] lying = table.clone();
        lying[0] = (byte) 0xff; // claims more runs than it holds
        assertThrows(D4Exception.Corruption.class, () -> MetaSlot.decodeTable(lying));
    }

    @Test
    void anyDamageMakesTheSlotUnreadable() {
        MetaSlot s = new MetaSlot(42, 9000, 17, 24, 5, List.of(new Run(0, 1027, 3)));
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

package d4.engine.meta;

import d4.engine.Invariant;
import d4.engine.alloc.Run;
import java.util.Arrays;

/**
 * A logical block range of an object mapped to physical blocks on one volume, with the CRC32C of
 * every block (so a 4 KiB read verifies by reading 4 KiB). The array is never mutated once built.
 */
public record Extent(long logicalBlock, int volume, long physicalBlock, int lengthBlocks, int[] crcs) {
    public Extent {
        Invariant.check(logicalBlock >= 0 && physicalBlock >= 0 && lengthBlocks > 0, "extent at %d of %d blocks",
                logicalBlock, lengthBlocks);
        Invariant.check(crcs.length == lengthBlocks, "extent with %d crcs for %d blocks", crcs.length, lengthBlocks);
    }

    public long endLogicalBlock() {
        return logicalBlock + lengthBlocks;
    }

    public Run run() {
        return new Run(volume, physicalBlock, lengthBlocks);
    }

    /** The part of this extent covering logical blocks [from, to), which must overlap it. */
    public Extent slice(long from, long to) {
        long s = Math.max(from, logicalBlock);
        long e = Math.min(to, endLogicalBlock());
        Invariant.check(s < e, "empty slice [%d, %d)", s, e);
        int skip = (int) (s - logicalBlock);
        int len = (int) (e - s);
        return new Extent(s, volume, physicalBlock + skip, len, Arrays.copyOfRange(crcs, skip, skip + len));
    }

    public int crcOf(long logical) {
        return crcs[(int) (logical - logicalBlock)];
    }
}

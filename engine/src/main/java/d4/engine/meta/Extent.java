package d4.engine.meta;

import d4.engine.Invariant;
import d4.engine.alloc.Run;
import java.util.Arrays;
import java.util.List;

/**
 * A logical block range of an object mapped to physical blocks on one volume, with the CRC32C of
 * every block (so a 4 KiB read verifies by reading 4 KiB), and in pools with two copies a second
 * location of the same length on another volume ({@code mirrorVolume} -1: none). The array is never
 * mutated once built.
 */
public record Extent(long logicalBlock, int volume, long physicalBlock, int lengthBlocks, int[] crcs, int mirrorVolume,
        long mirrorPhysicalBlock) {
    public Extent {
        Invariant.check(logicalBlock >= 0 && physicalBlock >= 0 && lengthBlocks > 0, "extent at %d of %d blocks",
                logicalBlock, lengthBlocks);
        Invariant.check(crcs.length == lengthBlocks, "extent with %d crcs for %d blocks", crcs.length, lengthBlocks);
        Invariant.check(mirrorVolume == -1 ? mirrorPhysicalBlock == 0 : mirrorVolume != volume && mirrorPhysicalBlock >= 0,
                "mirror of extent at %d on volume %d", logicalBlock, mirrorVolume);
    }

    /** An extent with one copy. */
    public Extent(long logicalBlock, int volume, long physicalBlock, int lengthBlocks, int[] crcs) {
        this(logicalBlock, volume, physicalBlock, lengthBlocks, crcs, -1, 0);
    }

    public boolean mirrored() {
        return mirrorVolume >= 0;
    }

    public long endLogicalBlock() {
        return logicalBlock + lengthBlocks;
    }

    /** The first copy's blocks. */
    public Run run() {
        return new Run(volume, physicalBlock, lengthBlocks);
    }

    /** Every copy's blocks (what freeing this extent releases). */
    public List<Run> runs() {
        return mirrored() ? List.of(run(), new Run(mirrorVolume, mirrorPhysicalBlock, lengthBlocks)) : List.of(run());
    }

    /** The part of this extent covering logical blocks [from, to), which must overlap it. */
    public Extent slice(long from, long to) {
        long s = Math.max(from, logicalBlock);
        long e = Math.min(to, endLogicalBlock());
        Invariant.check(s < e, "empty slice [%d, %d)", s, e);
        int skip = (int) (s - logicalBlock);
        int len = (int) (e - s);
        return new Extent(s, volume, physicalBlock + skip, len, Arrays.copyOfRange(crcs, skip, skip + len), mirrorVolume,
                mirrored() ? mirrorPhysicalBlock + skip : 0);
    }

    public int crcOf(long logical) {
        return crcs[(int) (logical - logicalBlock)];
    }
}

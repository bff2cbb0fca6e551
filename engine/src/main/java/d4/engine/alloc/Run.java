package d4.engine.alloc;

/** A contiguous range of blocks on one volume. */
public record Run(int volume, long startBlock, int lengthBlocks) {
    public Run {
        if (volume < 0 || startBlock < 0 || lengthBlocks <= 0) {
            throw new IllegalStateException("d4 invariant violated: bad run " + volume + ":" + startBlock + "+" + lengthBlocks);
        }
    }

    public long endBlock() {
        return startBlock + lengthBlocks;
    }
}

package d4.engine.meta.tree;

/** Hands out page addresses to a checkpoint. */
public interface PageAllocator {
    /**
     * A free page address (&gt; 0) that no published tree references. Throws
     * {@code D4Exception.NoSpace} when there is none; the checkpoint then gives back what it took.
     */
    long allocate();

    /**
     * Gives back an address this allocator handed out during a checkpoint that failed before
     * returning: nothing durable references it, so it may be reused at once. (Addresses a successful
     * checkpoint no longer references are returned in {@link Checkpoint#released()} instead, for the
     * caller to free once the new root is durable.)
     */
    void release(long address);
}

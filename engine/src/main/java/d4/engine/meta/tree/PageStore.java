package d4.engine.meta.tree;

import java.lang.foreign.MemorySegment;

/**
 * Where tree pages live: the engine implements it over its drives. Addresses are opaque to the tree
 * (the engine packs a volume and a block into them) but must be &gt; 0; 0 means "no page".
 *
 * <p>{@link #read} is called from several reader threads at once (cache misses under the engine's
 * read lock) and must be safe for that; {@link #write} is called only by a checkpoint, under the
 * engine's write lock. Segments are exactly {@link d4.engine.Limits#BLOCK_BYTES} long and may be heap
 * segments: an implementation that needs aligned native memory (O_DIRECT) copies through its own buffer.
 */
public interface PageStore {
    /** Fills {@code dst} with the page at {@code address}. I/O errors are {@code D4Exception}s. */
    void read(long address, MemorySegment dst);

    /** Writes {@code src} at {@code address}; durability is the caller's business (flush before publishing). */
    void write(long address, MemorySegment src);

    /**
     * Writes a checkpoint's pages ({@code images.get(i)} at {@code addresses[i]}); a store may sort and
     * coalesce them. On an exception any subset may have been written (all to unreferenced addresses).
     */
    default void writeAll(long[] addresses, java.util.List<byte[]> images) {
        for (int i = 0; i < addresses.length; i++) {
            write(addresses[i], MemorySegment.ofArray(images.get(i)));
        }
    }

    /** How error messages and fsck reports name a page address (the engine can say "volume 0, block 1234"). */
    default String describe(long address) {
        return "metadata page " + address;
    }
}

package d4.engine;

/** Every limit of the engine in one place (TigerBeetle style): checked on the way in and on the way out. */
public final class Limits {
    private Limits() {}

    /** The pool's block size: the unit of allocation, checksums and drive I/O. */
    public static final int BLOCK_BYTES = 4096;

    /** Largest attribute blob of an object (an inode with a 4095-byte symlink target fits). */
    public static final int MAX_ATTRS_BYTES = 8192;

    /** Largest key of the metadata B+tree (docs/format.md, "Metadata B+tree"). */
    public static final int MAX_TREE_KEY_BYTES = 1024;

    /**
     * Largest entry key (a 255-byte name plus a namespace prefix fits with room to spare): the tree key
     * of an entry is its owner's 8-byte id, a type byte and the entry key.
     */
    public static final int MAX_KEY_BYTES = MAX_TREE_KEY_BYTES - 9;

    /** Largest entry value (a 64 KiB xattr value fits). */
    public static final int MAX_VALUE_BYTES = 64 * 1024 + 64;

    /** Largest object size: 2^62 bytes keeps every block arithmetic far from overflow. */
    public static final long MAX_OBJECT_BYTES = 1L << 62;

    /**
     * Longest extent: 240 blocks (960 KiB), so that an extent record (17-byte key, up to 36 bytes of
     * header, 4 bytes of checksum per block) stays inline in a tree leaf (key + value at most 1032
     * bytes) instead of taking an overflow page of its own, and a growing extent rewrites at most
     * about 1 KiB of metadata per append.
     */
    public static final int MAX_EXTENT_BLOCKS = 240;

    /** Data moved per drive request by the engine's own buffers. */
    public static final int IO_CHUNK_BYTES = 1 << 20;

    /** Largest journal record; the smallest journal (4 MiB) holds several. */
    public static final int MAX_JOURNAL_RECORD_BYTES = 1 << 20;

    /** Largest volume: the in-memory free-space map indexes blocks with an int. */
    public static final long MAX_VOLUME_BYTES = (long) Integer.MAX_VALUE / 2 * BLOCK_BYTES;

    /** Smallest volume d4 formats. */
    public static final long MIN_VOLUME_BYTES = 64L << 20;

    /** Longest pool name. */
    public static final int MAX_POOL_NAME_BYTES = 64;
}

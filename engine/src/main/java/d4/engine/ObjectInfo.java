package d4.engine;

/**
 * What the engine knows of one object, as of the last committed transaction.
 *
 * @param attrs opaque attribute bytes owned by the layer above (the namespace stores its inode here)
 * @param allocatedBytes bytes of data blocks the object holds (sparse ranges hold none)
 */
public record ObjectInfo(ObjectId id, long generation, long sizeBytes, long allocatedBytes, byte[] attrs) {}

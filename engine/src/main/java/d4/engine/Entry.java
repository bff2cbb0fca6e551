package d4.engine;

/** One keyed entry of an object (directory entries and xattrs are entries to the namespace). */
public record Entry(byte[] key, byte[] value) {}

package d4.fs;

/** One name in a directory: the raw name bytes, the inode it names and that inode's type bits. */
public record DirEntry(byte[] name, long inode, int typeBits) {}

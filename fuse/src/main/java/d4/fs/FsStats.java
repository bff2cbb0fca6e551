package d4.fs;

/** What statfs reports. */
public record FsStats(long blockSizeBytes, long totalBlocks, long freeBlocks, long files, long freeFiles, int maxNameBytes) {}

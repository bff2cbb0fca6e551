package d4.engine;

import d4.engine.io.Drive;
import d4.engine.volume.Superblock;
import java.nio.file.Path;

/** An open volume: its path, its superblock and the drive serving it. */
record Volume(Path path, Superblock superblock, Drive drive) {
    long offsetOf(long block) {
        return block * Limits.BLOCK_BYTES;
    }
}

package d4.engine.io;

import java.nio.file.Path;

/** Opens the drive for one volume; the seam where io_uring and fault-injecting drives plug in. */
@FunctionalInterface
public interface DriveFactory {
    Drive open(Path path, int alignmentBytes);

    DriveFactory FILE_CHANNEL = ChannelDrive::open;
}

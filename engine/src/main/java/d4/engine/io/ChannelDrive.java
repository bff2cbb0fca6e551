package d4.engine.io;

import d4.engine.D4Exception;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A drive over a {@link FileChannel}: the portable fallback, and the drive used where io_uring is
 * unavailable. The channel's positional read/write are thread-safe; flush is {@code fdatasync}.
 *
 * <p>The whole file is locked while the drive is open, so that a second d4 process cannot open the
 * same volume and corrupt it.
 *
 * <p>A FileChannel closes itself when a thread blocked in it is interrupted, which would break the
 * volume for every other thread. As H2's FilePathRetryOnInterrupt does, the drive then reopens the
 * channel (and its lock) and retries the request with the interrupt held back until it completes.
 */
public final class ChannelDrive implements Drive {
    private final Path path;
    private volatile FileChannel channel;
    private volatile FileLock lock;
    private volatile boolean closed;
    private final long sizeBytes;
    private final int alignmentBytes;

    private ChannelDrive(Path path, FileChannel channel, FileLock lock, long sizeBytes, int alignmentBytes) {
        this.path = path;
        this.channel = channel;
        this.lock = lock;
        this.sizeBytes = sizeBytes;
        this.alignmentBytes = alignmentBytes;
    }

    /** Opens an existing volume file for reading and writing and locks it. */
    public static ChannelDrive open(Path path, int alignmentBytes) {
        FileChannel channel = openChannel(path);
        FileLock lock = lock(path, channel);
        try {
            return new ChannelDrive(path, channel, lock, channel.size(), alignmentBytes);
        } catch (IOException e) {
            closeQuietlyAfterFailure(channel, e);
            throw new D4Exception.PoolUnavailable("cannot read the size of volume " + path + ": " + e.getMessage(), e);
        }
    }

    /** Opens a volume file for reading and writing (also used by UringDrive for its lock and size). */
    static FileChannel openChannel(Path path) {
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new D4Exception.PoolUnavailable("volume " + path + " does not exist: check the path, or that the drive is attached", e);
        } catch (java.nio.file.AccessDeniedException e) {
            throw new D4Exception.PoolUnavailable("no permission to open volume " + path + ": run d4 as root or as the volume's owner", e);
        } catch (IOException e) {
            throw new D4Exception.PoolUnavailable("cannot open volume " + path + ": " + e.getMessage(), e);
        }
        return channel;
    }

    /** Locks the whole volume file against a second d4 process; closes the channel if it cannot. */
    static FileLock lock(Path path, FileChannel channel) {
        try {
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                closeQuietlyAfterFailure(channel, null);
                throw new D4Exception.PoolUnavailable("volume " + path
                        + " is in use by another d4 process: unmount it first (d4 umount MOUNTPOINT)");
            }
            return lock;
        } catch (IOException e) {
            closeQuietlyAfterFailure(channel, e);
            throw new D4Exception.PoolUnavailable("cannot lock volume " + path + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietlyAfterFailure(channel, e);
            throw e;
        }
    }

    private static void closeQuietlyAfterFailure(FileChannel channel, Exception primary) {
        try {
            channel.close();
        } catch (IOException suppressed) {
            if (primary != null) {
                primary.addSuppressed(suppressed);
            }
        }
    }

    @FunctionalInterface
    private interface ChannelOp {
        void run(FileChannel ch) throws IOException;
    }

    /** Runs {@code op}, reopening the channel if an interrupt (of any thread) closed it. */
    private void withChannel(ChannelOp op) throws IOException {
        boolean interrupted = false;
        try {
            for (int attempt = 0; ; attempt++) {
                FileChannel ch = channel;
                try {
                    op.run(ch);
                    return;
                } catch (java.nio.channels.ClosedChannelException e) {
                    if (closed || attempt >= 3) {
                        throw e;
                    }
                    // Hold our own interrupt back while we retry; it is restored below.
                    interrupted |= Thread.interrupted();
                    reopen(ch);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private synchronized void reopen(FileChannel broken) {
        if (channel != broken || closed) {
            return; // another thread reopened it already
        }
        FileChannel fresh = openChannel(path);
        lock = lock(path, fresh);
        channel = fresh;
    }

    @Override
    public String engine() {
        return "filechannel";
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    @Override
    public int alignmentBytes() {
        return alignmentBytes;
    }

    @Override
    public void read(long offsetBytes, MemorySegment dst) {
        checkRange(offsetBytes, dst.byteSize());
        ByteBuffer buf = dst.asByteBuffer();
        try {
            withChannel(ch -> {
                while (buf.hasRemaining()) {
                    int n = ch.read(buf, offsetBytes + buf.position());
                    if (n < 0) {
                        // Past the end of a file that is shorter than its superblock says: the tail was
                        // never written, so it reads as zeros, like the sparse range it stands for.
                        while (buf.hasRemaining()) {
                            buf.put((byte) 0);
                        }
                    }
                }
            });
        } catch (IOException e) {
            throw new D4Exception.DriveFailure("read of " + dst.byteSize() + " bytes at offset " + offsetBytes
                    + " of volume " + path + " failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void write(long offsetBytes, MemorySegment src) {
        checkRange(offsetBytes, src.byteSize());
        ByteBuffer buf = src.asByteBuffer();
        try {
            withChannel(ch -> {
                while (buf.hasRemaining()) {
                    ch.write(buf, offsetBytes + buf.position());
                }
            });
        } catch (IOException e) {
            throw writeFailure("write of " + src.byteSize() + " bytes at offset " + offsetBytes, e);
        }
    }

    @Override
    public void flush() {
        try {
            withChannel(ch -> ch.force(false));
        } catch (IOException e) {
            throw writeFailure("flush", e);
        }
    }

    private D4Exception writeFailure(String what, IOException e) {
        // Java does not expose errno; ENOSPC of the host file system reaches us only as this message.
        String message = String.valueOf(e.getMessage());
        if (message.contains("No space left on device") || message.contains("Disk quota exceeded")) {
            return new D4Exception.NoSpace("the file system holding volume " + path
                    + " is full (" + message + "): free space there, or put the volume on a block device");
        }
        return new D4Exception.DriveFailure(what + " of volume " + path + " failed: " + message, e);
    }

    private void checkRange(long offsetBytes, long lengthBytes) {
        if (offsetBytes < 0 || lengthBytes < 0 || offsetBytes + lengthBytes > sizeBytes
                || offsetBytes % alignmentBytes != 0 || lengthBytes % alignmentBytes != 0) {
            throw new IllegalStateException("d4 invariant violated: I/O of " + lengthBytes + " bytes at " + offsetBytes
                    + " is misaligned or outside volume " + path + " of " + sizeBytes + " bytes");
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            try {
                lock.release();
            } finally {
                channel.close();
            }
        } catch (IOException e) {
            throw new D4Exception.DriveFailure("closing volume " + path + " failed: " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "ChannelDrive[" + path + "]";
    }
}

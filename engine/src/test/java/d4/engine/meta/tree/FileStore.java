package d4.engine.meta.tree;

import d4.engine.D4Exception;
import d4.engine.Limits;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * A page store over a real file (page at address a = bytes [a * 4096, (a + 1) * 4096)). It refuses to
 * write over a protected page (one the published root reaches), can fail its n-th write, and counts
 * writes per address.
 */
final class FileStore implements PageStore, AutoCloseable {
    private final FileChannel channel;
    private final Path path;
    private Set<Long> protectedPages = Set.of();
    final Map<Long, Integer> writesPerAddress = new HashMap<>();
    long writes;
    /** When &gt; 0: the write that brings {@link #writes} to this number fails. */
    long failAtWrite;

    FileStore(Path path) {
        this.path = path;
        try {
            channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Path path() {
        return path;
    }

    /** Pages a write must never touch from now on (what the published root reaches). */
    void protect(Set<Long> addresses) {
        protectedPages = new HashSet<>(addresses);
    }

    @Override
    public void read(long address, MemorySegment dst) {
        if (address <= 0 || dst.byteSize() != Limits.BLOCK_BYTES) {
            throw new IllegalStateException("read of " + dst.byteSize() + " bytes at " + address);
        }
        try {
            ByteBuffer b = dst.asByteBuffer();
            while (b.hasRemaining()) {
                int n = channel.read(b, address * Limits.BLOCK_BYTES + b.position());
                if (n < 0) {
                    while (b.hasRemaining()) {
                        b.put((byte) 0); // past the end of the file: never written, reads as zeros
                    }
                }
            }
        } catch (IOException e) {
            throw new D4Exception.DriveFailure("read of page " + address + " failed", e);
        }
    }

    @Override
    public synchronized void write(long address, MemorySegment src) {
        if (address <= 0 || src.byteSize() != Limits.BLOCK_BYTES) {
            throw new IllegalStateException("write of " + src.byteSize() + " bytes at " + address);
        }
        if (protectedPages.contains(address)) {
            throw new AssertionError("a checkpoint overwrote page " + address + ", which the published root reaches");
        }
        writes++;
        if (writes == failAtWrite) {
            throw new D4Exception.DriveFailure("injected write failure at page " + address, null);
        }
        writesPerAddress.merge(address, 1, Integer::sum);
        rawWrite(address, src.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    }

    @Override
    public String describe(long address) {
        return "metadata page " + address + " of the test store";
    }

    /** Bytes of a page, bypassing every check (for damage injection). */
    byte[] rawRead(long address) {
        byte[] b = new byte[Limits.BLOCK_BYTES];
        read(address, MemorySegment.ofArray(b));
        return b;
    }

    void rawWrite(long address, byte[] page) {
        try {
            ByteBuffer b = ByteBuffer.wrap(page);
            while (b.hasRemaining()) {
                channel.write(b, address * Limits.BLOCK_BYTES + b.position());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package d4.engine;

import d4.engine.io.DriveFactory;
import d4.engine.meta.MetaSlot;
import d4.engine.volume.Superblock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/** Shared helpers for the engine tests: real pools on real files, no mocks. */
final class Pools {
    private Pools() {}

    static final int BLOCK = Limits.BLOCK_BYTES;
    static final long MIB = 1L << 20;

    /** The drive the tests run on: -Dd4.test.ioEngine=filechannel|io_uring (the build runs both). */
    static final DriveFactory DRIVES = DriveFactory.forEngine(System.getProperty("d4.test.ioEngine", "io_uring"));

    /** The background flusher never runs on its own, so durability happens only where a test says so. */
    static final PoolOptions QUIET = new PoolOptions(DRIVES, 3_600_000);

    static Path formatOne(Path dir, String name) {
        Path p = dir.resolve(name + ".d4vol");
        Pool.format(name, List.of(new VolumeSpec(p, 64 * MIB)));
        return p;
    }

    static Pool open(Path... paths) {
        return Pool.open(List.of(paths), QUIET);
    }

    static ObjectId create(Pool pool) {
        return create(pool, new byte[0]);
    }

    static ObjectId create(Pool pool, byte[] attrs) {
        try (Txn t = pool.begin()) {
            ObjectId id = t.create(attrs);
            t.commit();
            return id;
        }
    }

    static void write(Pool pool, ObjectId id, long offset, byte[] data) {
        try (Txn t = pool.begin()) {
            t.write(id, offset, MemorySegment.ofArray(data));
            t.commit();
        }
    }

    static void truncate(Pool pool, ObjectId id, long size) {
        try (Txn t = pool.begin()) {
            t.truncate(id, size);
            t.commit();
        }
    }

    static void delete(Pool pool, ObjectId id) {
        try (Txn t = pool.begin()) {
            t.delete(id);
            t.commit();
        }
    }

    static void putEntry(Pool pool, ObjectId owner, byte[] key, byte[] value) {
        try (Txn t = pool.begin()) {
            t.putEntry(owner, key, value);
            t.commit();
        }
    }

    /** Reads {@code length} bytes at {@code offset}; the result is shorter when the object ends first. */
    static byte[] read(Pool pool, ObjectId id, long offset, int length) {
        byte[] b = new byte[length];
        int n = pool.read(id, offset, MemorySegment.ofArray(b));
        return Arrays.copyOf(b, n);
    }

    static byte[] readAll(Pool pool, ObjectId id) {
        long size = pool.get(id).sizeBytes();
        return read(pool, id, 0, Math.toIntExact(size));
    }

    static byte[] random(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    static byte[] utf8(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * Copies volume files as a crash would leave them: the pool stays open, and since its writes go
     * through the page cache the copy holds exactly what reached the file so far.
     */
    static List<Path> crashCopy(Path targetDir, Path... volumes) {
        List<Path> out = new ArrayList<>();
        try {
            Files.createDirectories(targetDir);
            for (Path v : volumes) {
                Path dst = targetDir.resolve(v.getFileName());
                Files.copy(v, dst, StandardCopyOption.REPLACE_EXISTING);
                out.add(dst);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Byte offset of the first occurrence of {@code pattern} in the file, or -1. */
    static long indexOf(Path file, byte[] pattern) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            int window = 8 << 20;
            ByteBuffer buf = ByteBuffer.allocate(window + pattern.length);
            for (long base = 0; base < size; base += window) {
                buf.clear();
                int len = (int) Math.min(buf.capacity(), size - base);
                buf.limit(len);
                while (buf.hasRemaining() && ch.read(buf, base + buf.position()) >= 0) {
                    // fill
                }
                byte[] a = buf.array();
                outer:
                for (int i = 0; i + pattern.length <= len; i++) {
                    for (int j = 0; j < pattern.length; j++) {
                        if (a[i + j] != pattern[j]) {
                            continue outer;
                        }
                    }
                    return base + i;
                }
            }
            return -1;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] readFile(Path file, long offset, int length) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(length);
            while (b.hasRemaining() && ch.read(b, offset + b.position()) >= 0) {
                // fill
            }
            return b.array();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void writeFile(Path file, long offset, byte[] bytes) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b, offset + b.position());
            }
            ch.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void flipByte(Path file, long offset) {
        byte[] b = readFile(file, offset, 1);
        b[0] ^= (byte) 0x5a;
        writeFile(file, offset, b);
    }

    static MetaSlot slot(Path volume0, long block) {
        return MetaSlot.decodeOrNull(readFile(volume0, block * BLOCK, BLOCK));
    }

    /** The byte offset of a slot's tree root page in its volume (all test pools have it on volume 0). */
    static long rootPageOffset(MetaSlot slot) {
        d4.engine.alloc.Run r = VolumePages.run(slot.treeRoot());
        if (r.volume() != 0) {
            throw new IllegalStateException("the root page is on volume " + r.volume());
        }
        return r.startBlock() * BLOCK;
    }

    /** The newest valid meta slot of a (closed or copied) volume 0. */
    static MetaSlot newestSlot(Path volume0) {
        MetaSlot a = slot(volume0, Superblock.META_SLOT_A_BLOCK);
        MetaSlot b = slot(volume0, Superblock.META_SLOT_B_BLOCK);
        return a == null ? b : b == null ? a : a.generation() > b.generation() ? a : b;
    }

    /** The highest generation among the two meta slots of a (closed or crash-copied) volume 0. */
    static long newestGeneration(Path volume0) {
        MetaSlot a = slot(volume0, Superblock.META_SLOT_A_BLOCK);
        MetaSlot b = slot(volume0, Superblock.META_SLOT_B_BLOCK);
        return Math.max(a == null ? 0 : a.generation(), b == null ? 0 : b.generation());
    }

    static Superblock superblock(Path volume) {
        return Pool.readSuperblock(volume);
    }
}

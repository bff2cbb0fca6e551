package d4.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.Pool;
import d4.engine.PoolOptions;
import d4.engine.VolumeSpec;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Scrub finds a flipped byte under a file's data and names the file and range; a clean pool is clean. */
class ScrubTest {
    @TempDir
    Path dir;

    Path volume;
    Pool pool;
    FileSystem fs;

    void open() {
        pool = Pool.open(List.of(volume), PoolOptions.defaults().withDriveFactory(
                d4.engine.io.DriveFactory.forEngine(System.getProperty("d4.test.ioEngine", "io_uring"))));
        fs = new FileSystem(pool);
    }

    @AfterEach
    void close() {
        if (pool != null) {
            pool.close();
        }
    }

    private void write(String path, byte[] data) {
        Inode i = fs.create(path, 0644, Caller.ROOT);
        fs.write(i.id(), 0, MemorySegment.ofArray(data));
        fs.release(i.id());
    }

    private static byte[] block(String marker) {
        byte[] b = new byte[4096];
        byte[] m = marker.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < b.length; i++) {
            b[i] = m[i % m.length];
        }
        return b;
    }

    @Test
    void findsDamageByPathAndRangeAndCountsFiles() throws Exception {
        volume = dir.resolve("v.d4vol");
        Pool.format("t", List.of(new VolumeSpec(volume, 64L << 20)));
        open();
        fs.mkdir("/a", 0755, Caller.ROOT);
        fs.mkdir("/a/b", 0755, Caller.ROOT);
        byte[] victim = new byte[3 * 4096];
        System.arraycopy(block("scrub-victim-"), 0, victim, 4096, 4096);
        write("/a/b/victim", victim);
        write("/a/ok", block("fine-"));
        fs.link("/a/ok", "/ok-link");
        fs.mknod("/fifo", Inode.S_IFIFO | 0644, 0, Caller.ROOT);
        long[] last = new long[2];
        Scrub.Report clean = new Scrub(fs, 0, (f, b) -> {
            last[0] = f;
            last[1] = b;
        }).run();
        assertTrue(clean.clean(), clean.toString());
        assertEquals(2, clean.files(), "hard-linked files are verified once");
        assertEquals(4 * 4096, clean.bytesVerified());
        assertEquals(2, last[0]);
        pool.close();
        pool = null;

        byte[] all = Files.readAllBytes(volume);
        byte[] needle = block("scrub-victim-");
        int at = -1;
        for (int i = 0; i + 4096 <= all.length && at < 0; i += 4096) {
            if (Arrays.equals(all, i, i + 4096, needle, 0, 4096)) {
                at = i;
            }
        }
        assertTrue(at > 0, "the victim block is on disk");
        try (RandomAccessFile raf = new RandomAccessFile(volume.toFile(), "rw")) {
            raf.seek(at + 100);
            int b = raf.read();
            raf.seek(at + 100);
            raf.write(b ^ 0x40);
        }
        open();
        Scrub.Report report = new Scrub(fs, 1 << 30, (f, b) -> {}).run();
        assertEquals(List.of(), report.metadataProblems());
        assertEquals(1, report.damaged().size(), report.toString());
        Scrub.Damage d = report.damaged().getFirst();
        assertEquals("/a/b/victim", d.path());
        assertEquals(4096, d.fromByte());
        assertEquals(8192, d.toByte());
        assertEquals(1, pool.info().checksumFailures());
    }
}

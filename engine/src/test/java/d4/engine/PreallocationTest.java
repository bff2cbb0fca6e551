package d4.engine;

import static d4.engine.Pools.MIB;
import static d4.engine.Pools.create;
import static d4.engine.Pools.random;
import static d4.engine.Pools.read;
import static d4.engine.Pools.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Host space reserved ahead of data writes on file-backed volumes (see {@link Preallocation}). */
class PreallocationTest {
    @TempDir
    Path dir;

    /** Bytes the host file system has allocated to {@code file} (st_blocks x 512). */
    static long allocatedBytes(Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("stat", "-c", "%b %B", file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        assertEquals(0, p.waitFor(), out);
        String[] f = out.split(" ");
        return Long.parseLong(f[0]) * Long.parseLong(f[1]);
    }

    @Test
    void aWriteReservesItsRegionOnTheHostAndNothingFurther() throws Exception {
        Path v = dir.resolve("v.d4vol");
        Pool.format("p", List.of(new VolumeSpec(v, 1024 * MIB)));
        assertTrue(allocatedBytes(v) < Preallocation.REGION_BYTES / 2, "a new volume file is sparse: " + allocatedBytes(v));
        byte[] data = random(new Random(1), (int) MIB + 5);
        try (Pool pool = Pools.open(v)) {
            // The open reserved the region holding the journal and meta slots.
            long opened = allocatedBytes(v);
            assertTrue(opened >= Preallocation.REGION_BYTES && opened <= 2 * Preallocation.REGION_BYTES,
                    "the first region reserved at open: " + opened);
            ObjectId id = create(pool);
            write(pool, id, 0, data);
            long after = allocatedBytes(v);
            assertTrue(after >= opened && after <= 3 * Preallocation.REGION_BYTES,
                    "only the regions written are reserved: " + after + " of " + 1024 * MIB);
            assertArrayEquals(data, read(pool, id, 0, data.length));
        }
        try (Pool pool = Pools.open(v)) {
            // Reserving again after a reopen (mode 0 fallocate on written blocks) keeps their content.
            ObjectId id2 = create(pool);
            write(pool, id2, 0, data);
            assertArrayEquals(data, read(pool, id2, 0, data.length));
            assertArrayEquals(data, read(pool, new ObjectId(id2.value() - 1), 0, data.length));
        }
    }

    /** Each write into a new region of the data area reserves that region, and no write reserves more. */
    @Test
    void writesAcrossTheVolumeReserveRegionByRegion() throws Exception {
        Path v = dir.resolve("v.d4vol");
        Pool.format("p", List.of(new VolumeSpec(v, 1024 * MIB)));
        try (Pool pool = Pools.open(v)) {
            ObjectId id = create(pool);
            byte[] chunk = random(new Random(2), (int) MIB);
            long previous = allocatedBytes(v);
            for (int i = 0; i < 200; i++) {
                write(pool, id, (long) i * MIB, chunk);
                long now = allocatedBytes(v);
                // Never more than one region ahead of the data written, plus the first region.
                assertTrue(now <= (i + 1) * MIB + 2 * Preallocation.REGION_BYTES + 16 * MIB,
                        "after " + (i + 1) + " MiB: " + now + " bytes allocated on the host");
                assertTrue(now >= previous, "allocation only grows");
                previous = now;
            }
            assertTrue(previous >= 200 * MIB, "200 MiB written: " + previous);
            for (int i = 0; i < 200; i += 37) {
                assertArrayEquals(chunk, read(pool, id, (long) i * MIB, (int) MIB), "MiB " + i);
            }
        }
    }

    /**
     * A sparse 256 MiB volume on a 48 MiB tmpfs: once the host is full, a data write fails with
     * NoSpace naming the host file system before anything is written; the pool keeps working, what
     * was written reads back, and once the host has room again the pool opens with all of it.
     */
    @Test
    void aFullHostFileSystemIsNoSpaceAtTheReservationAndLosesNothing() throws Exception {
        try (Tmpfs host = Tmpfs.mount(dir, "48m")) {
            Path v = host.path().resolve("v.d4vol");
            Pool.format("p", List.of(new VolumeSpec(v, 256 * MIB)));
            List<ObjectId> written = new ArrayList<>();
            D4Exception.NoSpace full = null;
            Pool pool = Pools.open(v);
            try {
                for (int i = 0; i < 300 && full == null; i++) {
                    ObjectId id = create(pool);
                    try {
                        write(pool, id, 0, random(new Random(i), (int) MIB));
                        written.add(id);
                    } catch (D4Exception.NoSpace e) {
                        full = e;
                    }
                }
                assertNotNull(full, "256 MiB of writes cannot fit a 48 MiB tmpfs");
                assertTrue(full.getMessage().contains("reserving space") && full.getMessage().contains(v.toString()),
                        full.getMessage());
                assertFalse(pool.failure().isPresent(), "a full host is not a fatal error: " + pool.failure());
                assertTrue(written.size() > 10, "the host took some writes: " + written.size());
                for (int i = 0; i < written.size(); i++) {
                    assertArrayEquals(random(new Random(i), (int) MIB), read(pool, written.get(i), 0, (int) MIB),
                            "object " + i);
                }
                pool.sync(); // the journal's region was reserved at open: this fits
            } finally {
                try {
                    pool.close();
                } catch (D4Exception.NoSpace e) {
                    // The closing checkpoint may find no host space for its pages; the journal holds everything.
                    assertTrue(e.getMessage().contains(v.toString()), e.getMessage());
                }
            }
            host.resize("512m");
            try (Pool reopened = Pools.open(v)) {
                for (int i = 0; i < written.size(); i++) {
                    assertArrayEquals(random(new Random(i), (int) MIB), read(reopened, written.get(i), 0, (int) MIB),
                            "object " + i + " after a reopen");
                }
            }
        }
    }
}

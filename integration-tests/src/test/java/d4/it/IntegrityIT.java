package d4.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A flipped byte under a file's data, through the real CLI: reads of that range fail with EIO while
 * other files read fine, d4 scrub names the file and range and exits 1, d4 status counts the
 * failures, d4 fsck is clean without --data and exits 4 naming the file with it.
 */
@Timeout(300)
class IntegrityIT {
    @TempDir
    Path base;

    @Test
    void aFlippedDataByteIsEioScrubNamesTheFileAndFsckDataFails() throws Exception {
        byte[] victim = new byte[3 * 4096];
        Arrays.fill(victim, 4096, 8192, (byte) 'V');
        byte[] other = new byte[1 << 20];
        new Random(5).nextBytes(other);
        try (Mount m = new Mount(base)) {
            m.mount();
            Files.createDirectories(m.mountPoint.resolve("dir"));
            Files.write(m.mountPoint.resolve("dir/victim"), victim);
            Files.write(m.mountPoint.resolve("other"), other);
            D4Cli.Result clean = m.cli.run("scrub", m.mountPoint.toString());
            assertEquals(0, clean.exitCode(), clean.all());
            assertTrue(clean.stdout().contains("2 files") && clean.stdout().contains("no damage"), clean.all());
            m.umount();

            flipInsideBlock(m.dataDir.resolve("volumes/default.d4vol"), Arrays.copyOfRange(victim, 4096, 8192));

            D4Cli.Result fsck = m.cli.run("fsck", "--data-dir", m.dataDir.toString());
            assertEquals(0, fsck.exitCode(), "the namespace is intact: " + fsck.all());
            D4Cli.Result fsckData = m.cli.run("fsck", "--data-dir", m.dataDir.toString(), "--data");
            assertEquals(4, fsckData.exitCode(), fsckData.all());
            assertTrue(fsckData.stdout().contains("data of /dir/victim bytes 4096-8191 is damaged"), fsckData.all());

            m.mount();
            IOException eio = assertThrows(IOException.class, () -> Files.readAllBytes(m.mountPoint.resolve("dir/victim")));
            assertTrue(String.valueOf(eio.getMessage()).contains("Input/output error"), String.valueOf(eio));
            assertArrayEquals(other, Files.readAllBytes(m.mountPoint.resolve("other")), "other files read as written");
            D4Cli.Result scrub = m.cli.run("scrub", "--rate", "100M", m.mountPoint.toString());
            assertEquals(1, scrub.exitCode(), scrub.all());
            assertTrue(scrub.stdout().contains("damaged: /dir/victim bytes 4096-8191"), scrub.all());
            String status = m.statusJson();
            assertTrue(!status.contains("\"checksum_failures\":0"), status);
            assertTrue(status.contains("\"caches\":{\"inode\":{\"hits\":"), status);
            // Rewriting the damaged range heals the file (copy-on-write puts it on fresh blocks).
            try (RandomAccessFile raf = new RandomAccessFile(m.mountPoint.resolve("dir/victim").toFile(), "rw")) {
                raf.seek(4096);
                raf.write(new byte[4096]);
            }
            D4Cli.Result healed = m.cli.run("scrub", m.mountPoint.toString());
            assertEquals(0, healed.exitCode(), healed.all());
            m.umount();
        }
    }

    @Test
    void aPoolWithTwoCopiesReadsAroundADamagedCopyAndRewritesIt() throws Exception {
        byte[] data = new byte[4 * 4096];
        Arrays.fill(data, (byte) 'M');
        try (Mount m = new Mount(base.resolve("mirror"), "--pool", "m")) {
            Path a = m.dataDir.resolve("a.d4vol");
            Path b = m.dataDir.resolve("b.d4vol");
            D4Cli.Result format = m.cli.run("format", "--data-dir", m.dataDir.toString(), "--pool", "m", "--copies", "2",
                    "--volume", a + ":128M", "--volume", b + ":128M");
            assertEquals(0, format.exitCode(), format.all());
            assertTrue(format.stdout().contains("2 copies"), format.all());
            m.mount();
            Files.write(m.mountPoint.resolve("f"), data);
            m.umount();

            flipInsideBlock(b, Arrays.copyOf(data, 4096)); // one copy of the first block

            m.mount();
            assertArrayEquals(data, Files.readAllBytes(m.mountPoint.resolve("f")), "read from the intact copy");
            D4Cli.Result scrub = m.cli.run("scrub", m.mountPoint.toString());
            assertEquals(0, scrub.exitCode(), "nothing lost: " + scrub.all());
            String status = m.statusJson();
            assertTrue(status.contains("\"copies\":2") && !status.contains("\"repaired_blocks\":0"), status);
            m.umount();
            D4Cli.Result fsck = m.cli.run("fsck", "--data-dir", m.dataDir.toString(), "--pool", "m", "--data");
            assertEquals(0, fsck.exitCode(), "the damaged copy was rewritten: " + fsck.all());
        }
    }

    /** Flips one byte in the middle of the first 4 KiB block of the file equal to {@code block}. */
    private static void flipInsideBlock(Path volume, byte[] block) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(volume.toFile(), "rw")) {
            byte[] buf = new byte[4096];
            for (long at = 0; at + 4096 <= raf.length(); at += 4096) {
                raf.seek(at);
                raf.readFully(buf);
                if (Arrays.equals(buf, block)) {
                    raf.seek(at + 2000);
                    raf.write(buf[2000] ^ 0x10);
                    return;
                }
            }
        }
        throw new AssertionError("the victim block is not in " + volume);
    }
}

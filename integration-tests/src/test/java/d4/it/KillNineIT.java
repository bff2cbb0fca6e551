package d4.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What fsync acknowledged survives kill -9 of the daemon. */
@Timeout(300)
class KillNineIT {
    @TempDir
    Path base;

    @Test
    void fsyncedDataAndRenamesSurviveKillNine() throws Exception {
        try (Mount m = new Mount(base).mount()) {
            Path root = m.mountPoint;
            m.statusJson(); // learn the daemon's pid
            Random rnd = new Random(9);
            byte[] data = new byte[3 << 20];
            rnd.nextBytes(data);
            try (FileChannel ch = FileChannel.open(root.resolve("synced.bin"), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(data));
                ch.force(true);
            }
            // Appends, each fsynced, as a log writer does.
            try (FileChannel ch = FileChannel.open(root.resolve("log.txt"), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
                for (int i = 0; i < 100; i++) {
                    ch.write(ByteBuffer.wrap(("line " + i + "\n").getBytes()));
                    ch.force(false);
                }
            }
            Files.createDirectory(root.resolve("dir"));
            Files.writeString(root.resolve("dir/tmp"), "replacement");
            Files.move(root.resolve("dir/tmp"), root.resolve("dir/final"));
            try (FileChannel ch = FileChannel.open(root.resolve("dir/final"), StandardOpenOption.WRITE)) {
                ch.force(true); // fsync after the rename makes it durable (d4 has one journal)
            }

            m.killDaemon();
            assertTrue(m.isMounted(), "a killed daemon leaves its dead mount behind");
            m.umount(); // removes the dead mount
            assertFalse(m.isMounted());

            m.mount();
            assertArrayEquals(data, Files.readAllBytes(root.resolve("synced.bin")));
            var lines = Files.readAllLines(root.resolve("log.txt"));
            assertEquals(100, lines.size());
            assertEquals("line 99", lines.getLast());
            assertEquals("replacement", Files.readString(root.resolve("dir/final")));
            assertFalse(Files.exists(root.resolve("dir/tmp")));
            assertTrue(m.log().contains("replayed"), "the journal was replayed: " + m.log());
            m.umount();
        }
    }
}

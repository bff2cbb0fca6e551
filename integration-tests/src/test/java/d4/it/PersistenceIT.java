package d4.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The walking skeleton's promise: what is written survives umount and mount, byte for byte. */
@Timeout(300)
class PersistenceIT {
    @TempDir
    Path base;

    @Test
    void largeAndSmallFilesLinksAndDirectoriesSurviveUmountAndMount() throws Exception {
        try (Mount m = new Mount(base).mount()) {
            Path root = m.mountPoint;
            Random rnd = new Random(20261126);
            byte[] big = new byte[50 << 20];
            rnd.nextBytes(big);
            Files.write(root.resolve("big.bin"), big);
            Files.createDirectories(root.resolve("small/a/b"));
            for (int i = 0; i < 200; i++) {
                byte[] b = new byte[rnd.nextInt(70_000)];
                rnd.nextBytes(b);
                Path dir = root.resolve(i % 3 == 0 ? "small" : i % 3 == 1 ? "small/a" : "small/a/b");
                Files.write(dir.resolve("f" + i + ".dat"), b);
            }
            Files.createSymbolicLink(root.resolve("link-to-big"), Path.of("big.bin"));
            Files.createLink(root.resolve("small/hard-to-f0"), root.resolve("small/f0.dat"));
            Files.setPosixFilePermissions(root.resolve("small/f3.dat"), PosixFilePermissions.fromString("rwx--x---"));
            Files.writeString(root.resolve("renamed-from"), "moved content");
            Files.move(root.resolve("renamed-from"), root.resolve("small/a/renamed-to"));
            Files.createDirectory(root.resolve("gone"));
            Files.delete(root.resolve("gone"));

            Map<String, String> before = snapshot(root);
            assertEquals(200 + 7, before.size(), "files, links and directories written: " + before.keySet());
            m.umount();
            assertFalse(m.isMounted());

            m.mount();
            Map<String, String> after = snapshot(root);
            assertEquals(before, after, "the tree after remount differs");
            assertArrayEquals(big, Files.readAllBytes(root.resolve("big.bin")));
            assertEquals(Path.of("big.bin"), Files.readSymbolicLink(root.resolve("link-to-big")));
            assertArrayEquals(big, Files.readAllBytes(root.resolve("link-to-big")), "the symlink resolves");
            Object ino = Files.getAttribute(root.resolve("small/f0.dat"), "unix:ino");
            assertEquals(ino, Files.getAttribute(root.resolve("small/hard-to-f0"), "unix:ino"), "one inode, two names");
            assertEquals(2, Files.getAttribute(root.resolve("small/f0.dat"), "unix:nlink"));
            assertEquals("rwx--x---", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("small/f3.dat"))));
            assertEquals("moved content", Files.readString(root.resolve("small/a/renamed-to")));
            assertFalse(Files.exists(root.resolve("renamed-from")));
            assertFalse(Files.exists(root.resolve("gone")));
            m.umount();
        }
    }

    /** Path -> type, mode, size, link count and content hash (or link target) for every entry. */
    static Map<String, String> snapshot(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                if (p.equals(root)) {
                    continue;
                }
                String rel = root.relativize(p).toString();
                Map<String, Object> a = Files.readAttributes(p, "unix:mode,size,nlink,ino", LinkOption.NOFOLLOW_LINKS);
                String what = "mode=" + Integer.toOctalString((Integer) a.get("mode")) + " nlink=" + a.get("nlink");
                if (Files.isSymbolicLink(p)) {
                    what += " -> " + Files.readSymbolicLink(p);
                } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    what += " size=" + a.get("size") + " sha256=" + sha256(Files.readAllBytes(p));
                }
                out.put(rel, what);
            }
        }
        assertTrue(out.size() > 0);
        return out;
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

package d4.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The operations of the walking skeleton through a real mount, with the errors applications see. */
@Timeout(120)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FileOpsIT {
    Mount m;
    Path root;

    @BeforeAll
    void mount(@TempDir Path base) throws Exception {
        m = new Mount(base).mount();
        root = m.mountPoint;
    }

    @AfterAll
    void unmount() throws Exception {
        m.close();
    }

    @Test
    void createReadWriteAtOffsetsAndTruncate() throws Exception {
        Path f = root.resolve("rw");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(10_000);
            raf.write("tail".getBytes());
            raf.seek(3);
            raf.write("head".getBytes());
        }
        byte[] all = Files.readAllBytes(f);
        assertEquals(10_004, all.length);
        assertEquals("head", new String(all, 3, 4));
        assertEquals(0, all[100], "the hole reads as zeros");
        assertEquals("tail", new String(all, 10_000, 4));
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.truncate(5);
        }
        assertEquals(5, Files.size(f));
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(8192); // growing again shows zeros, not the old bytes
        }
        byte[] grown = Files.readAllBytes(f);
        assertEquals("\0\0\0he", new String(grown, 0, 5));
        assertEquals(0, grown[5]);
        assertEquals(0, grown[6]);
        Files.writeString(f, "trunc", StandardOpenOption.TRUNCATE_EXISTING);
        assertEquals("trunc", Files.readString(f));
        Files.writeString(f, "+more", StandardOpenOption.APPEND);
        assertEquals("trunc+more", Files.readString(f));
    }

    @Test
    void errorsMatchNativeOnes() throws Exception {
        assertThrows(NoSuchFileException.class, () -> Files.readAllBytes(root.resolve("missing")));
        assertThrows(NoSuchFileException.class, () -> Files.writeString(root.resolve("no-dir/file"), "x"));
        Files.createDirectory(root.resolve("e"));
        assertThrows(FileAlreadyExistsException.class, () -> Files.createDirectory(root.resolve("e")));
        Files.writeString(root.resolve("e/child"), "c");
        assertThrows(DirectoryNotEmptyException.class, () -> Files.delete(root.resolve("e")));
        assertThrows(FileAlreadyExistsException.class, () -> Files.createFile(root.resolve("e/child")));
        assertThrows(java.nio.file.FileSystemException.class, () -> Files.writeString(root.resolve("e/child/x"), "x"),
                "ENOTDIR");
        assertThrows(java.nio.file.FileSystemException.class,
                () -> Files.move(root.resolve("e"), root.resolve("e/inside")), "EINVAL: into its own subtree");
        assertThrows(java.nio.file.FileSystemException.class,
                () -> Files.createFile(root.resolve("n".repeat(256))), "ENAMETOOLONG");
        Files.createFile(root.resolve("n".repeat(255)));
        assertTrue(Files.exists(root.resolve("n".repeat(255))), "255-byte names work");
    }

    @Test
    void renameReplacesAtomicallyAndMovesDirectories() throws Exception {
        Files.writeString(root.resolve("r-old"), "old");
        Files.writeString(root.resolve("r-new"), "new");
        Files.move(root.resolve("r-new"), root.resolve("r-old"), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
        assertEquals("new", Files.readString(root.resolve("r-old")));
        assertFalse(Files.exists(root.resolve("r-new")));
        Files.createDirectories(root.resolve("r-dir/sub"));
        Files.writeString(root.resolve("r-dir/sub/f"), "deep");
        Files.createDirectory(root.resolve("r-target"));
        Files.move(root.resolve("r-dir"), root.resolve("r-target/moved"));
        assertEquals("deep", Files.readString(root.resolve("r-target/moved/sub/f")));
        assertEquals(3, Files.getAttribute(root.resolve("r-target"), "unix:nlink"), "2 + one subdirectory");
        assertEquals(root.resolve("r-target").toRealPath(), root.resolve("r-target/moved/..").toRealPath());
    }

    @Test
    void attributesChmodChownUtimensStatfs() throws Exception {
        Path f = Files.writeString(root.resolve("attrs"), "a");
        Files.setAttribute(f, "unix:mode", 0640);
        assertEquals(0100640, Files.getAttribute(f, "unix:mode"));
        Files.setAttribute(f, "unix:uid", 1234);
        Files.setAttribute(f, "unix:gid", 4321);
        assertEquals(1234, Files.getAttribute(f, "unix:uid"));
        assertEquals(4321, Files.getAttribute(f, "unix:gid"));
        Instant t = Instant.parse("2001-02-03T04:05:06.123456789Z");
        Files.setLastModifiedTime(f, FileTime.from(t));
        assertEquals(t, Files.getLastModifiedTime(f).toInstant(), "nanoseconds kept");
        FileStore store = Files.getFileStore(root);
        assertTrue(store.getTotalSpace() > 0 && store.getUsableSpace() > 0 && store.getUsableSpace() <= store.getTotalSpace());
        assertEquals("fuse.d4", store.type());
    }

    @Test
    void readdirListsEverythingAndUnlinkedOpenFilesStayReadable() throws Exception {
        Path d = Files.createDirectory(root.resolve("many"));
        for (int i = 0; i < 1000; i++) {
            Files.writeString(d.resolve("file-" + i), Integer.toString(i));
        }
        try (Stream<Path> s = Files.list(d)) {
            assertEquals(1000, s.count());
        }
        Path f = Files.writeString(root.resolve("open-unlinked"), "still here");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            Files.delete(f);
            assertFalse(Files.exists(f));
            ByteBuffer buf = ByteBuffer.allocate(64);
            int n = ch.read(buf, 0);
            assertEquals("still here", new String(buf.array(), 0, n));
            ch.write(ByteBuffer.wrap("!".getBytes()), 10);
            assertEquals(11, ch.size());
            try (Stream<Path> s = Files.list(root)) {
                List<String> names = s.map(p -> p.getFileName().toString()).toList();
                assertFalse(names.stream().anyMatch(n2 -> n2.startsWith(".fuse_hidden")), names.toString());
            }
        }
        byte[] content = "x".repeat(5000).getBytes();
        Files.write(root.resolve("hl-a"), content);
        Files.createLink(root.resolve("hl-b"), root.resolve("hl-a"));
        Files.delete(root.resolve("hl-a"));
        assertArrayEquals(content, Files.readAllBytes(root.resolve("hl-b")));
        assertEquals(1, Files.getAttribute(root.resolve("hl-b"), "unix:nlink"));
    }
}

package d4.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The FFM system-call binding the mount tests rely on, checked against a native directory and Java's own view. */
class SysTest {
    @TempDir
    Path dir;

    @Test
    void callsReturnResultsAndErrnoAsTheKernelGivesThem() throws Exception {
        String f = dir.resolve("f").toString();
        int fd = Sys.open(f, Sys.O_CREAT | Sys.O_RDWR | Sys.O_EXCL, 0640);
        assertTrue(fd >= 0, "open: " + fd);
        assertEquals(-Sys.EEXIST, Sys.open(f, Sys.O_CREAT | Sys.O_EXCL | Sys.O_RDWR, 0640));
        assertEquals(5, Sys.pwrite(fd, "hello".getBytes(), 10));
        Sys.Bytes r = Sys.pread(fd, 100, 8);
        assertEquals(7, r.result());
        assertArrayEquals(new byte[] {0, 0, 'h', 'e', 'l', 'l', 'o'}, r.data());
        Sys.Stat st = Sys.fstat(fd);
        BasicFileAttributes attrs = Files.readAttributes(Path.of(f), BasicFileAttributes.class);
        assertEquals(0, st.result());
        assertEquals(15, st.size());
        assertEquals(Sys.S_IFREG, st.type());
        assertEquals(0640 & ~022, st.perm() & ~022, "mode (whatever the umask)");
        assertEquals(((Number) Files.getAttribute(Path.of(f), "unix:ino")).longValue(), st.ino());
        assertEquals(attrs.lastModifiedTime().toInstant().getEpochSecond(), st.mtimeSec());
        assertEquals(0, Sys.close(fd));
        assertEquals(-Sys.EBADF, Sys.close(fd));
        assertEquals(-Sys.ENOENT, Sys.stat(dir.resolve("missing").toString()).result());
        assertEquals(-Sys.ENOTDIR, Sys.mkdir(f + "/x", 0755));
        assertEquals(0, Sys.symlink("f", dir.resolve("l").toString()));
        assertArrayEquals("f".getBytes(), Sys.readlink(dir.resolve("l").toString()).data());
        assertEquals(Sys.S_IFLNK, Sys.lstat(dir.resolve("l").toString()).type());
        assertEquals(0, Sys.setxattr(f, "user.k", "v".getBytes(), 0));
        assertEquals(-Sys.EEXIST, Sys.setxattr(f, "user.k", "w".getBytes(), Sys.XATTR_CREATE));
        assertEquals(1, Sys.getxattr(f, "user.k", 0).result());
        assertEquals(-Sys.ERANGE, Sys.listxattr(f, 1).result());
        assertEquals(java.util.List.of("user.k"), Sys.xattrNames(Sys.listxattr(f, 100)));
        int fd2 = Sys.open(f, Sys.O_RDWR);
        assertEquals(0, Sys.fcntlLock(fd2, Sys.F_SETLK, Sys.F_WRLCK, 0, 10).result());
        assertEquals(0, Sys.flock(fd2, Sys.LOCK_EX | Sys.LOCK_NB));
        assertEquals(0, Sys.close(fd2));
        long[] fs = Sys.statfs(dir.toString());
        assertEquals(8, fs.length);
        assertEquals(255, fs[7]);
    }
}

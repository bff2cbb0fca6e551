package d4.it;

import static d4.it.Sys.O_APPEND;
import static d4.it.Sys.O_CREAT;
import static d4.it.Sys.O_DIRECTORY;
import static d4.it.Sys.O_EXCL;
import static d4.it.Sys.O_NOFOLLOW;
import static d4.it.Sys.O_RDONLY;
import static d4.it.Sys.O_RDWR;
import static d4.it.Sys.O_TRUNC;
import static d4.it.Sys.O_WRONLY;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

/** open(2) and creat(2): flags, errors, name lengths; and descriptors that outlive their name. */
class PosixOpenIT extends PosixConformance {

    @OnBoth
    void createSetsTypeModeOwnerAndSize(Root r) {
        int fd = open(r.path("f"), O_CREAT | O_WRONLY | O_EXCL, 0640);
        Sys.Stat st = fstat(fd);
        close(fd);
        assertEquals(Sys.S_IFREG, st.type());
        assertEquals(0640 & ~umask(), st.perm());
        assertEquals(0, st.uid());
        assertEquals(0, st.gid());
        assertEquals(1, st.nlink());
        assertEquals(0, st.size());
        assertEquals(0, st.blocks());
    }

    @OnBoth
    void exclusiveCreateOfAnExistingNameFails(Root r) {
        write(r.path("f"), "old");
        assertErrno(Sys.EEXIST, Sys.open(r.path("f"), O_CREAT | O_EXCL | O_WRONLY, 0644), "O_CREAT|O_EXCL on a file");
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        assertErrno(Sys.EEXIST, Sys.open(r.path("d"), O_CREAT | O_EXCL | O_RDONLY, 0644), "O_CREAT|O_EXCL on a directory");
        // O_EXCL never follows a symlink, not even a dangling one.
        ok(Sys.symlink("nowhere", r.path("dangling")), "symlink");
        assertErrno(Sys.EEXIST, Sys.open(r.path("dangling"), O_CREAT | O_EXCL | O_WRONLY, 0644), "O_CREAT|O_EXCL on a symlink");
        assertEquals(-Sys.ENOENT, Sys.stat(r.path("nowhere")).result(), "nothing was created");
        assertEquals("old", read(r.path("f")));
    }

    @OnBoth
    void createWithoutExclOpensTheExistingFileUntouched(Root r) {
        write(r.path("f"), "keep");
        ok(Sys.chmod(r.path("f"), 0600), "chmod");
        int fd = open(r.path("f"), O_CREAT | O_RDWR, 0777);
        close(fd);
        assertEquals("keep", read(r.path("f")));
        assertEquals(0600, stat(r.path("f")).perm(), "the mode argument applies only to a new file");
    }

    @OnBoth
    void createThroughADanglingSymlinkCreatesItsTarget(Root r) {
        ok(Sys.symlink("target", r.path("link")), "symlink");
        int fd = open(r.path("link"), O_CREAT | O_WRONLY, 0644);
        ok(Sys.write(fd, "via link".getBytes()), "write");
        close(fd);
        assertEquals("via link", read(r.path("target")));
        assertEquals(Sys.S_IFLNK, lstat(r.path("link")).type());
    }

    @OnBoth
    void truncateOnOpenEmptiesTheFile(Root r) {
        write(r.path("f"), "some content");
        int fd = open(r.path("f"), O_WRONLY | O_TRUNC);
        assertEquals(0, fstat(fd).size());
        close(fd);
        assertEquals(0, stat(r.path("f")).size());
        assertEquals(0, stat(r.path("f")).blocks(), "the blocks are freed");
        // O_TRUNC on an O_RDONLY open still truncates on Linux (unspecified by POSIX).
        write(r.path("g"), "more");
        close(open(r.path("g"), O_RDONLY | O_TRUNC));
        assertEquals(0, stat(r.path("g")).size());
    }

    @OnBoth
    void appendWritesLandAtTheEndWhateverTheOffset(Root r) {
        write(r.path("f"), "abc");
        int fd = open(r.path("f"), O_WRONLY | O_APPEND);
        assertEquals(0, Sys.lseek(fd, 0, Sys.SEEK_SET));
        assertEquals(2, Sys.write(fd, "XY".getBytes()));
        assertEquals(5, Sys.lseek(fd, 0, Sys.SEEK_CUR), "the offset follows the appended data");
        // Linux appends even with pwrite's explicit offset (a documented deviation from POSIX).
        assertEquals(1, Sys.pwrite(fd, "Z".getBytes(), 0));
        close(fd);
        assertEquals("abcXYZ", read(r.path("f")));
    }

    @OnBoth
    void directoryFlagOnAFileFails(Root r) {
        write(r.path("f"), "x");
        assertErrno(Sys.ENOTDIR, Sys.open(r.path("f"), O_RDONLY | O_DIRECTORY), "O_DIRECTORY on a file");
        ok(Sys.symlink("f", r.path("l")), "symlink");
        assertErrno(Sys.ENOTDIR, Sys.open(r.path("l"), O_RDONLY | O_DIRECTORY), "O_DIRECTORY through a symlink to a file");
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        close(open(r.path("d"), O_RDONLY | O_DIRECTORY));
    }

    @OnBoth
    void noFollowOnASymlinkFails(Root r) {
        write(r.path("f"), "x");
        ok(Sys.symlink("f", r.path("l")), "symlink");
        assertErrno(Sys.ELOOP, Sys.open(r.path("l"), O_RDONLY | O_NOFOLLOW), "O_NOFOLLOW on a symlink");
        assertErrno(Sys.ELOOP, Sys.open(r.path("l"), O_WRONLY | O_CREAT | O_NOFOLLOW, 0644), "O_CREAT|O_NOFOLLOW on a symlink");
        close(open(r.path("f"), O_RDONLY | O_NOFOLLOW)); // only the last component counts
    }

    @OnBoth
    void missingPathsAndFileComponentsFail(Root r) {
        assertErrno(Sys.ENOENT, Sys.open(r.path("missing"), O_RDONLY), "open of a missing file");
        assertErrno(Sys.ENOENT, Sys.open(r.path("missing/f"), O_CREAT | O_WRONLY, 0644), "create in a missing directory");
        write(r.path("f"), "x");
        assertErrno(Sys.ENOTDIR, Sys.open(r.path("f/x"), O_RDONLY), "a file as a directory component");
        assertErrno(Sys.ENOTDIR, Sys.open(r.path("f/x"), O_CREAT | O_WRONLY, 0644), "create under a file");
        assertErrno(Sys.ENOTDIR, Sys.open(r.path("f/"), O_RDONLY), "a trailing slash on a file");
        assertErrno(Sys.EISDIR, Sys.open(r.path("new/"), O_CREAT | O_WRONLY, 0644), "create with a trailing slash");
    }

    @OnBoth
    void wrongAccessModeGivesEbadf(Root r) {
        write(r.path("f"), "data");
        int ro = open(r.path("f"), O_RDONLY);
        assertErrno(Sys.EBADF, Sys.write(ro, "x".getBytes()), "write on an O_RDONLY descriptor");
        assertErrno(Sys.EBADF, Sys.pwrite(ro, "x".getBytes(), 0), "pwrite on an O_RDONLY descriptor");
        close(ro);
        int wo = open(r.path("f"), O_WRONLY);
        assertErrno(Sys.EBADF, Sys.pread(wo, 4, 0).result(), "read on an O_WRONLY descriptor");
        close(wo);
        assertEquals("data", read(r.path("f")));
    }

    @OnBoth
    void namesUpTo255BytesWork(Root r) {
        String max = "n".repeat(255);
        close(open(r.path(max), O_CREAT | O_WRONLY, 0644));
        assertTrue(names(r.path()).contains(max));
        assertErrno(Sys.ENAMETOOLONG, Sys.open(r.path("n".repeat(256)), O_CREAT | O_WRONLY, 0644), "create, 256-byte name");
        assertErrno(Sys.ENAMETOOLONG, Sys.open(r.path("n".repeat(256)), O_RDONLY), "open, 256-byte name");
        assertErrno(Sys.ENAMETOOLONG, Sys.mkdir(r.path("d".repeat(256)), 0755), "mkdir, 256-byte name");
        // The limit is in bytes: 127 two-byte characters fit, 128 do not.
        close(open(r.path("é".repeat(127)), O_CREAT | O_WRONLY, 0644));
        assertErrno(Sys.ENAMETOOLONG, Sys.open(r.path("é".repeat(128)), O_CREAT | O_WRONLY, 0644), "create, 256 UTF-8 bytes");
    }

    @OnBoth
    void directoriesOpenOnlyForReading(Root r) {
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        assertErrno(Sys.EISDIR, Sys.open(r.path("d"), O_WRONLY), "O_WRONLY on a directory");
        assertErrno(Sys.EISDIR, Sys.open(r.path("d"), O_RDWR), "O_RDWR on a directory");
        assertErrno(Sys.EISDIR, Sys.open(r.path("d"), O_CREAT | O_WRONLY, 0644), "O_CREAT on a directory");
        int fd = open(r.path("d"), O_RDONLY);
        assertErrno(Sys.EISDIR, Sys.pread(fd, 10, 0).result(), "read of a directory");
        close(fd);
    }

    /** An open descriptor outlives its name: it reads, writes, stats, truncates and chmods the inode. */
    @OnBoth
    void unlinkedOpenFileStaysUsable(Root r) {
        write(r.path("f"), "still here");
        int fd = open(r.path("f"), O_RDWR);
        long ino = fstat(fd).ino();
        ok(Sys.unlink(r.path("f")), "unlink");
        assertEquals(-Sys.ENOENT, Sys.stat(r.path("f")).result());
        Sys.Stat st = fstat(fd);
        assertEquals(0, st.nlink());
        assertEquals(ino, st.ino());
        assertArrayEquals("still here".getBytes(), Sys.pread(fd, 100, 0).data());
        assertEquals(1, Sys.pwrite(fd, "!".getBytes(), 10));
        assertEquals(11, fstat(fd).size());
        ok(Sys.ftruncate(fd, 5), "ftruncate");
        assertArrayEquals("still".getBytes(), Sys.pread(fd, 100, 0).data());
        ok(Sys.fchmod(fd, 0600), "fchmod");
        assertEquals(0600, fstat(fd).perm());
        List<String> names = names(r.path());
        assertEquals(List.of(".", ".."), names, "no trace of the name (no .fuse_hidden file either)");
        close(fd);
        assertEquals(List.of(".", ".."), names(r.path()));
    }

    @OnBoth
    void nameReusedWhileTheOldInodeIsStillOpen(Root r) {
        write(r.path("f"), "old");
        int fd = open(r.path("f"), O_RDONLY);
        ok(Sys.unlink(r.path("f")), "unlink");
        write(r.path("f"), "new");
        assertArrayEquals("old".getBytes(), Sys.pread(fd, 10, 0).data());
        assertNotEquals(fstat(fd).ino(), stat(r.path("f")).ino(), "a new inode under the old name");
        close(fd);
        assertEquals("new", read(r.path("f")));
        assertEquals(List.of(".", "..", "f"), names(r.path()));
    }
}

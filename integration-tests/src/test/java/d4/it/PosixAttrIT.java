package d4.it;

import static d4.it.Sys.O_CREAT;
import static d4.it.Sys.O_DIRECTORY;
import static d4.it.Sys.O_RDONLY;
import static d4.it.Sys.O_TRUNC;
import static d4.it.Sys.O_WRONLY;
import static d4.it.Sys.UTIME_NOW;
import static d4.it.Sys.UTIME_OMIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * chmod, chown, utimensat, the set-id bits, and which operations change the mtime and ctime of a file
 * and of its directory. Timestamp cases assert relations (changed / unchanged), with a {@link #tick()}
 * between steps so that "changed" cannot be hidden by the clock's granularity.
 */
class PosixAttrIT extends PosixConformance {
    @OnBoth
    void chmodSetsPermissionBitsAndKeepsTheType(Root r) {
        write(r.path("f"), "x");
        ok(Sys.chmod(r.path("f"), 0), "chmod 0");
        assertEquals(Sys.S_IFREG, stat(r.path("f")).mode());
        ok(Sys.chmod(r.path("f"), 07777), "chmod 07777");
        assertEquals(Sys.S_IFREG | 07777, stat(r.path("f")).mode());
        ok(Sys.chmod(r.path("f"), Sys.S_IFDIR | 0640), "chmod with file type bits");
        assertEquals(Sys.S_IFREG | 0640, stat(r.path("f")).mode(), "type bits in the argument are ignored");
        ok(Sys.symlink("f", r.path("l")), "symlink");
        ok(Sys.chmod(r.path("l"), 0600), "chmod through a symlink");
        assertEquals(0600, stat(r.path("f")).perm(), "chmod follows the symlink");
        assertEquals(0777, lstat(r.path("l")).perm(), "the symlink keeps 0777");
        assertErrno(Sys.ENOENT, Sys.chmod(r.path("missing"), 0644), "chmod of a missing file");
    }

    @OnBoth
    void chownMinusOneKeepsAField(Root r) {
        write(r.path("f"), "x");
        ok(Sys.chown(r.path("f"), 1000, 2000), "chown");
        ok(Sys.chown(r.path("f"), -1, 3000), "chown -1 gid");
        assertEquals(1000, stat(r.path("f")).uid());
        assertEquals(3000, stat(r.path("f")).gid());
        ok(Sys.chown(r.path("f"), 4000, -1), "chown uid -1");
        assertEquals(4000, stat(r.path("f")).uid());
        assertEquals(3000, stat(r.path("f")).gid());
        ok(Sys.symlink("f", r.path("l")), "symlink");
        ok(Sys.lchown(r.path("l"), 5000, 6000), "lchown");
        assertEquals(5000, lstat(r.path("l")).uid());
        assertEquals(6000, lstat(r.path("l")).gid());
        assertEquals(4000, stat(r.path("f")).uid(), "lchown leaves the target alone");
    }

    /** chown clears setuid always (also as root, also with -1/-1), setgid only when group-exec is set. */
    @OnBoth
    void chownClearsTheSetIdBits(Root r) {
        write(r.path("both"), "x");
        ok(Sys.chmod(r.path("both"), 06755), "chmod");
        ok(Sys.chown(r.path("both"), 1000, -1), "chown");
        assertPerm(0755, r.path("both"), "chown clears setuid and setgid");
        write(r.path("lock"), "x");
        ok(Sys.chmod(r.path("lock"), 06745), "chmod"); // setgid without group-exec: mandatory-locking mark
        ok(Sys.chown(r.path("lock"), -1, 1000), "chown");
        assertPerm(02745, r.path("lock"), "setgid without group-exec stays");
        write(r.path("noop"), "x");
        ok(Sys.chmod(r.path("noop"), 04755), "chmod");
        ok(Sys.chown(r.path("noop"), -1, -1), "chown -1 -1");
        assertPerm(0755, r.path("noop"), "even a chown that changes nothing clears setuid");
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        ok(Sys.chmod(r.path("d"), 03755), "chmod");
        ok(Sys.chown(r.path("d"), 1000, 1000), "chown of a directory");
        assertPerm(03755, r.path("d"), "directories keep setgid and sticky");
    }

    /** Root (CAP_FSETID) writing or truncating a set-id file keeps its bits. */
    @OnBoth
    void writesByRootKeepTheSetIdBits(Root r) {
        write(r.path("f"), "x");
        ok(Sys.chmod(r.path("f"), 06777), "chmod");
        int fd = open(r.path("f"), O_WRONLY);
        assertEquals(4, Sys.pwrite(fd, "more".getBytes(), 1));
        ok(Sys.ftruncate(fd, 2), "ftruncate");
        close(fd);
        assertPerm(06777, r.path("f"), "after root's write and ftruncate");
    }

    /**
     * A write by anyone without CAP_FSETID clears setuid, and setgid when group-exec is set or when the
     * writer is not in the file's group (here: nobody, not in group root, so both files lose it).
     */
    @OnBoth
    void writeByAnotherUserClearsTheSetIdBits(Root r) throws Exception {
        write(r.path("f"), "x");
        ok(Sys.chmod(r.path("f"), 06777), "chmod");
        write(r.path("g"), "x");
        ok(Sys.chmod(r.path("g"), 02767), "chmod"); // setgid without group-exec
        SysProcess nobody = nobody();
        long fd = ok(nobody.call("open", r.path("f"), O_WRONLY, 0), "open as nobody");
        assertEquals(1, nobody.call("pwrite", fd, "y", 0));
        ok(nobody.call("close", fd), "close");
        long gd = ok(nobody.call("open", r.path("g"), O_WRONLY, 0), "open as nobody");
        assertEquals(1, nobody.call("pwrite", gd, "y", 0));
        ok(nobody.call("close", gd), "close");
        assertPerm(0777, r.path("f"), "after nobody's write, 06777 with group-exec");
        assertPerm(0767, r.path("g"), "after nobody's write, 02767 without group-exec");
        assertEquals("y", read(r.path("f")));
    }

    @OnBoth
    void newEntriesInASetgidDirectoryTakeItsGroup(Root r) {
        ok(Sys.mkdir(r.path("shared"), 0755), "mkdir");
        ok(Sys.chown(r.path("shared"), -1, 1234), "chown");
        ok(Sys.chmod(r.path("shared"), 02775), "chmod");
        write(r.path("shared/f"), "x");
        assertEquals(1234, stat(r.path("shared/f")).gid());
        assertEquals(0, stat(r.path("shared/f")).perm() & 02000, "files do not inherit setgid");
        ok(Sys.mkdir(r.path("shared/sub"), 0755), "mkdir");
        assertEquals(1234, stat(r.path("shared/sub")).gid());
        assertEquals(02000, stat(r.path("shared/sub")).perm() & 02000, "subdirectories inherit setgid");
    }

    // ------------------------------------------------------------------------------------------
    // utimensat

    @OnBoth
    void utimensSetsExactNanoseconds(Root r) {
        write(r.path("f"), "x");
        long ctimeBefore = ctime(stat(r.path("f")));
        tick();
        ok(Sys.utimens(r.path("f"), 1_000_000_000L, 123_456_789, 1_500_000_000L, 987_654_321, 0), "utimensat");
        Sys.Stat st = stat(r.path("f"));
        assertEquals(1_000_000_000L, st.atimeSec());
        assertEquals(123_456_789, st.atimeNsec());
        assertEquals(1_500_000_000L, st.mtimeSec());
        assertEquals(987_654_321, st.mtimeNsec());
        assertChanged(ctimeBefore, ctime(st), "ctime");
        ok(Sys.utimens(r.path("f"), -1, 0, 0, 0, 0), "times before the epoch");
        assertEquals(-1, stat(r.path("f")).atimeSec());
        assertErrno(Sys.EINVAL, Sys.utimens(r.path("f"), 0, 1_000_000_000, 0, 0, 0), "nanoseconds out of range");
        assertErrno(Sys.ENOENT, Sys.utimens(r.path("missing"), 0, 0, 0, 0, 0), "utimensat of a missing file");
    }

    @OnBoth
    void utimeOmitKeepsATimeAndUtimeNowSetsTheCurrentTime(Root r) {
        write(r.path("f"), "x");
        ok(Sys.utimens(r.path("f"), 1_000_000_000L, 1, 1_000_000_000L, 2, 0), "utimensat");
        long before = System.currentTimeMillis();
        ok(Sys.utimens(r.path("f"), 0, UTIME_OMIT, 0, UTIME_NOW, 0), "omit atime, now mtime");
        Sys.Stat st = stat(r.path("f"));
        assertEquals(nanos(1_000_000_000L, 1), atime(st), "UTIME_OMIT keeps atime");
        assertTrue(Math.abs(st.mtimeSec() * 1000 - before) < 5000, "UTIME_NOW is now: " + st.mtimeSec());
        ok(Sys.utimens(r.path("f"), 1_200_000_000L, 0, 0, UTIME_OMIT, 0), "explicit atime, omit mtime");
        st = stat(r.path("f"));
        assertEquals(nanos(1_200_000_000L, 0), atime(st));
        assertTrue(Math.abs(st.mtimeSec() * 1000 - before) < 5000, "mtime kept");
        long ctimeBefore = ctime(st);
        tick();
        ok(Sys.utimens(r.path("f"), 0, UTIME_OMIT, 0, UTIME_OMIT, 0), "omit both");
        assertUnchanged(ctimeBefore, ctime(stat(r.path("f"))), "ctime after omitting both");
    }

    /** UTIME_NOW takes one instant: atime, mtime and the ctime it sets are exactly equal (ext4 reads the clock once). */
    @OnBoth
    void utimeNowSetsOneInstantForAllTimes(Root r) {
        write(r.path("f"), "x");
        ok(Sys.utimens(r.path("f"), 0, UTIME_NOW, 0, UTIME_NOW, 0), "utimensat now");
        Sys.Stat st = stat(r.path("f"));
        assertEquals(atime(st), mtime(st), "atime == mtime");
        assertEquals(mtime(st), ctime(st), "mtime == ctime");
    }

    @OnBoth
    void utimensWithNoFollowSetsTheSymlinksOwnTimes(Root r) {
        write(r.path("f"), "x");
        ok(Sys.symlink("f", r.path("l")), "symlink");
        long fileMtime = mtime(stat(r.path("f")));
        ok(Sys.utimens(r.path("l"), 1_000_000_000L, 5, 1_000_000_000L, 6, Sys.AT_SYMLINK_NOFOLLOW), "utimensat nofollow");
        assertEquals(nanos(1_000_000_000L, 6), mtime(lstat(r.path("l"))));
        assertEquals(fileMtime, mtime(stat(r.path("f"))), "the target is untouched");
    }

    // ------------------------------------------------------------------------------------------
    // Which operations change which times

    @OnBoth
    void createAndMkdirChangeTheParentsTimes(Root r) {
        Sys.Stat dir = stat(r.path());
        tick();
        write(r.path("f"), "");
        Sys.Stat afterCreate = stat(r.path());
        assertChanged(mtime(dir), mtime(afterCreate), "parent mtime after create");
        assertChanged(ctime(dir), ctime(afterCreate), "parent ctime after create");
        Sys.Stat f = stat(r.path("f"));
        assertEquals(mtime(f), ctime(f), "a new file's mtime == ctime");
        assertEquals(atime(f), mtime(f), "a new file's atime == mtime");
        tick();
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        Sys.Stat afterMkdir = stat(r.path());
        assertChanged(mtime(afterCreate), mtime(afterMkdir), "parent mtime after mkdir");
        assertChanged(ctime(afterCreate), ctime(afterMkdir), "parent ctime after mkdir");
    }

    @OnBoth
    void unlinkChangesTheParentAndTheRemainingLinksCtime(Root r) {
        write(r.path("f"), "x");
        ok(Sys.link(r.path("f"), r.path("g")), "link");
        Sys.Stat dir = stat(r.path());
        Sys.Stat g = stat(r.path("g"));
        tick();
        ok(Sys.unlink(r.path("f")), "unlink");
        Sys.Stat dirAfter = stat(r.path());
        Sys.Stat gAfter = stat(r.path("g"));
        assertChanged(mtime(dir), mtime(dirAfter), "parent mtime");
        assertChanged(ctime(dir), ctime(dirAfter), "parent ctime");
        assertChanged(ctime(g), ctime(gAfter), "ctime of the inode that lost a link");
        assertUnchanged(mtime(g), mtime(gAfter), "mtime of the inode that lost a link");
    }

    @OnBoth
    void renameChangesBothParentsAndTheMovedInodesCtime(Root r) {
        ok(Sys.mkdir(r.path("a"), 0755), "mkdir");
        ok(Sys.mkdir(r.path("b"), 0755), "mkdir");
        write(r.path("a/f"), "x");
        write(r.path("b/old"), "replaced");
        ok(Sys.link(r.path("b/old"), r.path("b/keep")), "link");
        Sys.Stat a = stat(r.path("a"));
        Sys.Stat b = stat(r.path("b"));
        Sys.Stat f = stat(r.path("a/f"));
        Sys.Stat old = stat(r.path("b/keep"));
        Sys.Stat top = stat(r.path());
        tick();
        ok(Sys.rename(r.path("a/f"), r.path("b/old")), "rename");
        assertChanged(mtime(a), mtime(stat(r.path("a"))), "source parent mtime");
        assertChanged(ctime(a), ctime(stat(r.path("a"))), "source parent ctime");
        assertChanged(mtime(b), mtime(stat(r.path("b"))), "target parent mtime");
        assertChanged(ctime(b), ctime(stat(r.path("b"))), "target parent ctime");
        assertChanged(ctime(f), ctime(stat(r.path("b/old"))), "ctime of the moved inode");
        assertUnchanged(mtime(f), mtime(stat(r.path("b/old"))), "mtime of the moved inode");
        assertChanged(ctime(old), ctime(stat(r.path("b/keep"))), "ctime of the replaced inode");
        assertUnchanged(mtime(top), mtime(stat(r.path())), "the grandparent's mtime");
    }

    @OnBoth
    void linkChangesTheInodesCtimeAndTheNewParent(Root r) {
        ok(Sys.mkdir(r.path("a"), 0755), "mkdir");
        ok(Sys.mkdir(r.path("b"), 0755), "mkdir");
        write(r.path("a/f"), "x");
        Sys.Stat a = stat(r.path("a"));
        Sys.Stat b = stat(r.path("b"));
        Sys.Stat f = stat(r.path("a/f"));
        tick();
        ok(Sys.link(r.path("a/f"), r.path("b/g")), "link");
        Sys.Stat fAfter = stat(r.path("a/f"));
        assertChanged(ctime(f), ctime(fAfter), "ctime of the linked inode");
        assertUnchanged(mtime(f), mtime(fAfter), "mtime of the linked inode");
        assertChanged(mtime(b), mtime(stat(r.path("b"))), "new parent mtime");
        assertChanged(ctime(b), ctime(stat(r.path("b"))), "new parent ctime");
        assertUnchanged(mtime(a), mtime(stat(r.path("a"))), "the source's parent mtime");
    }

    @OnBoth
    void writeChangesMtimeAndCtimeButNotTheParent(Root r) {
        write(r.path("f"), "x");
        Sys.Stat f = stat(r.path("f"));
        Sys.Stat dir = stat(r.path());
        int fd = open(r.path("f"), O_WRONLY);
        tick();
        assertEquals(3, Sys.pwrite(fd, "abc".getBytes(), 0));
        close(fd);
        Sys.Stat fAfter = stat(r.path("f"));
        assertChanged(mtime(f), mtime(fAfter), "mtime after write");
        assertChanged(ctime(f), ctime(fAfter), "ctime after write");
        assertUnchanged(atime(f), atime(fAfter), "atime after write");
        assertUnchanged(mtime(dir), mtime(stat(r.path())), "parent mtime after write");
    }

    /** Linux marks mtime and ctime on every truncate, ftruncate and O_TRUNC open, even when the size stays. */
    @OnBoth
    void truncateChangesTimesEvenAtTheSameSize(Root r) {
        write(r.path("f"), "12345");
        Sys.Stat st = stat(r.path("f"));
        tick();
        ok(Sys.truncate(r.path("f"), 5), "truncate to the same size");
        Sys.Stat same = stat(r.path("f"));
        assertChanged(mtime(st), mtime(same), "mtime after truncate(2) to the same size");
        assertChanged(ctime(st), ctime(same), "ctime after truncate(2) to the same size");
        int fd = open(r.path("f"), O_WRONLY);
        tick();
        ok(Sys.ftruncate(fd, 5), "ftruncate to the same size");
        close(fd);
        Sys.Stat fsame = stat(r.path("f"));
        assertChanged(mtime(same), mtime(fsame), "mtime after ftruncate to the same size");
        assertChanged(ctime(same), ctime(fsame), "ctime after ftruncate to the same size");
        tick();
        ok(Sys.truncate(r.path("f"), 3), "truncate");
        Sys.Stat shrunk = stat(r.path("f"));
        assertChanged(mtime(fsame), mtime(shrunk), "mtime after truncate");
        assertChanged(ctime(fsame), ctime(shrunk), "ctime after truncate");
        tick();
        close(open(r.path("f"), O_WRONLY | O_TRUNC));
        Sys.Stat trunc = stat(r.path("f"));
        assertChanged(mtime(shrunk), mtime(trunc), "mtime after O_TRUNC");
        assertChanged(ctime(shrunk), ctime(trunc), "ctime after O_TRUNC");
    }

    @OnBoth
    void attributeChangesTouchOnlyCtime(Root r) {
        write(r.path("f"), "x");
        Sys.Stat st = stat(r.path("f"));
        Sys.Stat dir = stat(r.path());
        tick();
        ok(Sys.chmod(r.path("f"), 0600), "chmod");
        Sys.Stat afterChmod = stat(r.path("f"));
        assertChanged(ctime(st), ctime(afterChmod), "ctime after chmod");
        assertUnchanged(mtime(st), mtime(afterChmod), "mtime after chmod");
        tick();
        ok(Sys.chown(r.path("f"), 1000, 1000), "chown");
        Sys.Stat afterChown = stat(r.path("f"));
        assertChanged(ctime(afterChmod), ctime(afterChown), "ctime after chown");
        assertUnchanged(mtime(st), mtime(afterChown), "mtime after chown");
        tick();
        ok(Sys.setxattr(r.path("f"), "user.k", "v".getBytes(), 0), "setxattr");
        Sys.Stat afterXattr = stat(r.path("f"));
        assertChanged(ctime(afterChown), ctime(afterXattr), "ctime after setxattr");
        assertUnchanged(mtime(st), mtime(afterXattr), "mtime after setxattr");
        assertUnchanged(mtime(dir), mtime(stat(r.path())), "parent mtime after attribute changes");
        assertUnchanged(ctime(dir), ctime(stat(r.path())), "parent ctime after attribute changes");
    }

    /**
     * The default mount option relatime (both /tmp's ext4 and the FUSE mount have it): a read updates
     * atime when atime is not newer than mtime (or is over a day old). The kernel leaves this to a FUSE
     * file system.
     */
    @OnBoth
    void readUpdatesAnOldAtime(Root r) {
        write(r.path("f"), "x");
        ok(Sys.utimens(r.path("f"), 1_000_000_000L, 0, 1_100_000_000L, 0, 0), "utimensat");
        long before = System.currentTimeMillis() / 1000;
        int fd = open(r.path("f"), O_RDONLY);
        assertEquals(1, Sys.pread(fd, 10, 0).result());
        close(fd);
        Sys.Stat st = stat(r.path("f"));
        assertTrue(st.atimeSec() >= before - 2, "atime after a read: " + st.atimeSec());
        assertEquals(1_100_000_000L, st.mtimeSec(), "a read leaves mtime");
    }

    @OnBoth
    void listingUpdatesAnOldDirectoryAtime(Root r) {
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        ok(Sys.utimens(r.path("d"), 1_000_000_000L, 0, 1_100_000_000L, 0, 0), "utimensat");
        long before = System.currentTimeMillis() / 1000;
        int fd = open(r.path("d"), O_RDONLY | O_DIRECTORY);
        ok(Sys.getdents(fd, 32768).result(), "getdents");
        close(fd);
        assertTrue(stat(r.path("d")).atimeSec() >= before - 2, "atime after a listing: " + stat(r.path("d")).atimeSec());
    }

    @OnBoth
    void openForCreateOfAnExistingFileChangesNothing(Root r) {
        write(r.path("f"), "x");
        Sys.Stat st = stat(r.path("f"));
        Sys.Stat dir = stat(r.path());
        tick();
        close(open(r.path("f"), O_CREAT | O_WRONLY, 0644));
        assertUnchanged(mtime(st), mtime(stat(r.path("f"))), "mtime");
        assertUnchanged(ctime(st), ctime(stat(r.path("f"))), "ctime");
        assertUnchanged(mtime(dir), mtime(stat(r.path())), "parent mtime");
    }
}

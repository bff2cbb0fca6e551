package d4.it;

import static d4.it.Sys.O_CREAT;
import static d4.it.Sys.O_RDONLY;
import static d4.it.Sys.O_WRONLY;
import static d4.it.Sys.UTIME_NOW;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Permission checks for a user who is not root: each case makes its calls through {@link #nobody()},
 * a {@link SysProcess} running as nobody (uid and gid 65534, no supplementary groups, no
 * capabilities), while the test itself, as root, sets the scene and checks the outcome.
 */
class PosixPermissionIT extends PosixConformance {
    private static final int NOBODY = SysProcess.NOBODY;

    /** Without allow_other, FUSE refuses every uid but the mounter's; d4 mounts with it here (see SharedD4Mount). */
    @OnBoth
    void anotherUserCanReachTheFiles(Root r) throws Exception {
        write(r.path("f"), "x");
        SysProcess p = nobody();
        assertEquals(0, p.call("stat", r.path("f")));
        assertEquals(3, p.call("listdir", r.path()), ". .. f");
    }

    @OnBoth
    void aReadOnlyFileRefusesWrites(Root r) throws Exception {
        write(r.path("f"), "x");
        ok(Sys.chmod(r.path("f"), 0444), "chmod");
        SysProcess p = nobody();
        assertErrno(Sys.EACCES, p.call("open", r.path("f"), O_WRONLY, 0), "open O_WRONLY of a 0444 file");
        assertErrno(Sys.EACCES, p.call("truncate", r.path("f"), 0), "truncate of a 0444 file");
        assertErrno(Sys.EACCES, p.call("access", r.path("f"), Sys.W_OK), "access W_OK");
        assertEquals(0, p.call("access", r.path("f"), Sys.R_OK));
        long fd = ok(p.call("open", r.path("f"), O_RDONLY, 0), "open O_RDONLY");
        ok(p.call("close", fd), "close");
        close(open(r.path("f"), O_WRONLY)); // root is not bound by the mode
    }

    @OnBoth
    void aDirectoryWithoutWriteRefusesChangesToItsNames(Root r) throws Exception {
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        write(r.path("d/existing"), "x");
        ok(Sys.chmod(r.path("d/existing"), 0666), "chmod");
        ok(Sys.chmod(r.path("d"), 0555), "chmod");
        SysProcess p = nobody();
        assertErrno(Sys.EACCES, p.call("open", r.path("d/new"), O_CREAT | O_WRONLY, 0644), "create in a 0555 directory");
        assertErrno(Sys.EACCES, p.call("mkdir", r.path("d/sub"), 0755), "mkdir in a 0555 directory");
        assertErrno(Sys.EACCES, p.call("unlink", r.path("d/existing")), "unlink in a 0555 directory");
        assertErrno(Sys.EACCES, p.call("rename", r.path("d/existing"), r.path("d/renamed")), "rename in a 0555 directory");
        long fd = ok(p.call("open", r.path("d/existing"), O_WRONLY, 0), "writing an existing 0666 file is allowed");
        ok(p.call("close", fd), "close");
        write(r.path("d/by-root"), "root may"); // root is not bound by the mode
    }

    @OnBoth
    void searchNeedsExecuteAndListingNeedsRead(Root r) throws Exception {
        ok(Sys.mkdir(r.path("noexec"), 0755), "mkdir");
        write(r.path("noexec/f"), "x");
        ok(Sys.chown(r.path("noexec"), NOBODY, NOBODY), "chown");
        ok(Sys.chmod(r.path("noexec"), 0600), "chmod");
        ok(Sys.mkdir(r.path("noread"), 0755), "mkdir");
        write(r.path("noread/f"), "x");
        ok(Sys.chown(r.path("noread"), NOBODY, NOBODY), "chown");
        ok(Sys.chmod(r.path("noread"), 0300), "chmod");
        SysProcess p = nobody();
        assertErrno(Sys.EACCES, p.call("stat", r.path("noexec/f")), "lookup in a 0600 directory");
        assertErrno(Sys.EACCES, p.call("open", r.path("noexec/f"), O_RDONLY, 0), "open in a 0600 directory");
        assertEquals(3, p.call("listdir", r.path("noexec")), "a 0600 directory can still be listed");
        assertEquals(0, p.call("stat", r.path("noread/f")), "lookup in a 0300 directory");
        assertErrno(Sys.EACCES, p.call("listdir", r.path("noread")), "listing a 0300 directory");
    }

    @OnBoth
    void aStickyDirectoryProtectsOtherUsersEntries(Root r) throws Exception {
        ok(Sys.mkdir(r.path("tmp"), 0755), "mkdir");
        ok(Sys.chmod(r.path("tmp"), 01777), "chmod");
        write(r.path("tmp/theirs"), "x");
        ok(Sys.chown(r.path("tmp/theirs"), 1000, 1000), "chown");
        ok(Sys.chmod(r.path("tmp/theirs"), 0666), "chmod");
        SysProcess p = nobody();
        assertErrno(Sys.EPERM, p.call("unlink", r.path("tmp/theirs")), "unlink of another user's file in a sticky directory");
        assertErrno(Sys.EPERM, p.call("rename", r.path("tmp/theirs"), r.path("tmp/stolen")), "rename of another user's file");
        long fd = ok(p.call("open", r.path("tmp/mine"), O_CREAT | O_WRONLY, 0644), "create in a sticky directory");
        ok(p.call("close", fd), "close");
        assertEquals(0, p.call("rename", r.path("tmp/mine"), r.path("tmp/mine2")), "rename of one's own file");
        assertEquals(0, p.call("unlink", r.path("tmp/mine2")), "unlink of one's own file");
        assertEquals("x", read(r.path("tmp/theirs")));
        ok(Sys.unlink(r.path("tmp/theirs")), "root may");
    }

    @OnBoth
    void theOwnerOfAStickyDirectoryMayRemoveAnything(Root r) throws Exception {
        ok(Sys.mkdir(r.path("tmp"), 0755), "mkdir");
        ok(Sys.chown(r.path("tmp"), NOBODY, NOBODY), "chown");
        ok(Sys.chmod(r.path("tmp"), 01777), "chmod");
        write(r.path("tmp/theirs"), "x");
        ok(Sys.chown(r.path("tmp/theirs"), 1000, 1000), "chown");
        SysProcess p = nobody();
        assertEquals(0, p.call("unlink", r.path("tmp/theirs")));
    }

    @OnBoth
    void onlyTheOwnerChangesModeOwnerAndExplicitTimes(Root r) throws Exception {
        write(r.path("roots"), "x");
        ok(Sys.chmod(r.path("roots"), 0666), "chmod");
        write(r.path("mine"), "x");
        ok(Sys.chown(r.path("mine"), NOBODY, 0), "chown"); // group root: nobody is not a member
        SysProcess p = nobody();
        assertErrno(Sys.EPERM, p.call("chmod", r.path("roots"), 0777), "chmod of another user's file");
        assertErrno(Sys.EPERM, p.call("chown", r.path("roots"), NOBODY, -1), "chown of another user's file");
        assertErrno(Sys.EPERM, p.call("utimens", r.path("roots"), 1, 0, 1, 0), "explicit times on another user's file");
        assertEquals(0, p.call("utimens", r.path("roots"), 0, UTIME_NOW, 0, UTIME_NOW), "UTIME_NOW needs only write access");
        assertEquals(0, p.call("chmod", r.path("mine"), 02755), "chmod of one's own file");
        assertErrno(Sys.EPERM, p.call("chown", r.path("mine"), 0, -1), "giving a file away");
        assertErrno(Sys.EPERM, p.call("chown", r.path("mine"), -1, 1000), "chown to a group one is not in");
        assertPerm(0755, r.path("mine"), "setgid is dropped for a group the caller is not in");
        assertEquals(0666, stat(r.path("roots")).perm());
    }

    /** fs.protected_hardlinks (on by default): no hard links to files one could not write. */
    @OnBoth
    void protectedHardlinks(Root r) throws Exception {
        ok(Sys.chmod(r.path(), 0777), "chmod"); // nobody may add names here
        write(r.path("roots"), "x");
        write(r.path("shared"), "x");
        ok(Sys.chmod(r.path("shared"), 0666), "chmod");
        SysProcess p = nobody();
        assertErrno(Sys.EPERM, p.call("link", r.path("roots"), r.path("stolen")), "link to a root-owned 0644 file");
        assertEquals(0, p.call("link", r.path("shared"), r.path("allowed")), "link to a file one may write");
        assertEquals(2, stat(r.path("shared")).nlink(), "link count of the file nobody linked");
    }

    @OnBoth
    void xattrPermissions(Root r) throws Exception {
        write(r.path("writable"), "x");
        ok(Sys.chmod(r.path("writable"), 0666), "chmod");
        write(r.path("readonly"), "x");
        ok(Sys.setxattr(r.path("readonly"), "user.k", "v".getBytes(), 0), "setxattr");
        ok(Sys.setxattr(r.path("readonly"), "trusted.t", "v".getBytes(), 0), "setxattr");
        SysProcess p = nobody();
        assertEquals(0, p.call("setxattr", r.path("writable"), "user.k", "v", 0), "user.* on a writable file");
        assertErrno(Sys.EACCES, p.call("setxattr", r.path("readonly"), "user.k", "w", 0), "user.* on a 0644 file");
        assertEquals(1, p.call("getxattr", r.path("readonly"), "user.k"), "reading user.* needs read access");
        assertErrno(Sys.EPERM, p.call("setxattr", r.path("writable"), "trusted.t", "v", 0), "trusted.* as non-root");
        assertErrno(Sys.ENODATA, p.call("getxattr", r.path("readonly"), "trusted.t"), "trusted.* is invisible to non-root");
    }
}

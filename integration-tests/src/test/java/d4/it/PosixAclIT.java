package d4.it;

import static d4.it.Sys.O_CREAT;
import static d4.it.Sys.O_RDONLY;
import static d4.it.Sys.O_RDWR;
import static d4.it.Sys.O_WRONLY;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * POSIX ACLs through their xattrs (system.posix_acl_access, system.posix_acl_default), with the blobs
 * built here (the acl package, setfacl, may not be installed): how they show in the mode, how chmod
 * rewrites the mask, how a directory's default ACL is inherited, and how a non-root user is granted
 * or denied by a named entry.
 */
class PosixAclIT extends PosixConformance {
    static final String ACCESS = "system.posix_acl_access";
    static final String DEFAULT = "system.posix_acl_default";
    static final int USER_OBJ = 0x01, USER = 0x02, GROUP_OBJ = 0x04, GROUP = 0x08, MASK = 0x10, OTHER = 0x20;
    static final int R = 4, W = 2, X = 1;
    private static final int NO_ID = -1;
    private static final int NOBODY = SysProcess.NOBODY;

    /** One ACL entry: {tag, perm, id}; id is ignored (written as -1) for all but USER and GROUP. */
    static int[] e(int tag, int perm, int id) {
        return new int[] {tag, perm, id};
    }

    static int[] e(int tag, int perm) {
        return e(tag, perm, NO_ID);
    }

    /**
     * The kernel's xattr form of an ACL: a little-endian u32 version 2, then per entry u16 tag, u16
     * perm, u32 id. Entries must come in the kernel's order: USER_OBJ, USER..., GROUP_OBJ, GROUP...,
     * MASK, OTHER.
     */
    static byte[] acl(int[]... entries) {
        ByteBuffer b = ByteBuffer.allocate(4 + 8 * entries.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(2);
        for (int[] entry : entries) {
            b.putShort((short) entry[0]).putShort((short) entry[1]).putInt(entry[0] == USER || entry[0] == GROUP ? entry[2] : NO_ID);
        }
        return b.array();
    }

    private static void assertAcl(byte[] expected, String path, String name) {
        Sys.Bytes got = Sys.getxattr(path, name, 4096);
        ok(got.result(), "getxattr " + name);
        assertArrayEquals(expected, got.data(), name + " of " + path);
    }

    private static void touch(String path) {
        close(open(path, O_CREAT | O_WRONLY, 0644));
    }

    @OnBoth
    void accessAclIsStoredAndItsMaskIsTheGroupMode(Root r) {
        touch(r.path("f"));
        byte[] a = acl(e(USER_OBJ, R | W), e(USER, R | W, NOBODY), e(GROUP_OBJ, R), e(MASK, R | W), e(OTHER, 0));
        ok(Sys.setxattr(r.path("f"), ACCESS, a, 0), "setxattr " + ACCESS);
        assertAcl(a, r.path("f"), ACCESS);
        assertEquals(0660, stat(r.path("f")).perm(), "owner = user_obj, group bits = mask, other = other");
        assertTrue(Sys.xattrNames(Sys.listxattr(r.path("f"), 1000)).contains(ACCESS), "listed");
        ok(Sys.removexattr(r.path("f"), ACCESS), "removexattr");
        assertErrno(Sys.ENODATA, Sys.getxattr(r.path("f"), ACCESS, 4096).result(), "getxattr after removal");
    }

    @OnBoth
    void chmodRewritesTheMaskAndTheOwnerAndOtherEntries(Root r) {
        touch(r.path("f"));
        ok(Sys.setxattr(r.path("f"), ACCESS,
                acl(e(USER_OBJ, R | W), e(USER, R | W | X, NOBODY), e(GROUP_OBJ, R), e(MASK, R | W | X), e(OTHER, 0)), 0), "setxattr");
        ok(Sys.chmod(r.path("f"), 0741), "chmod");
        assertAcl(acl(e(USER_OBJ, R | W | X), e(USER, R | W | X, NOBODY), e(GROUP_OBJ, R), e(MASK, R), e(OTHER, X)),
                r.path("f"), ACCESS);
        assertEquals(0741, stat(r.path("f")).perm());
    }

    /** An ACL that says no more than the mode is not stored: it only sets the mode. */
    @OnBoth
    void aMinimalAclIsJustTheMode(Root r) {
        touch(r.path("f"));
        ok(Sys.setxattr(r.path("f"), ACCESS, acl(e(USER_OBJ, R | W | X), e(GROUP_OBJ, R | X), e(OTHER, R)), 0), "setxattr");
        assertEquals(0754, stat(r.path("f")).perm());
        assertErrno(Sys.ENODATA, Sys.getxattr(r.path("f"), ACCESS, 4096).result(), "getxattr of a minimal ACL");
    }

    @OnBoth
    void malformedAclsAreRejected(Root r) {
        touch(r.path("f"));
        byte[] version1 = acl(e(USER_OBJ, R), e(GROUP_OBJ, R), e(OTHER, R));
        version1[0] = 1;
        assertErrno(Sys.EOPNOTSUPP, Sys.setxattr(r.path("f"), ACCESS, version1, 0), "a version-1 ACL");
        assertErrno(Sys.EINVAL, Sys.setxattr(r.path("f"), ACCESS,
                acl(e(USER_OBJ, R), e(USER, R, NOBODY), e(GROUP_OBJ, R), e(OTHER, R)), 0), "a named user without a mask");
        assertErrno(Sys.EINVAL, Sys.setxattr(r.path("f"), ACCESS,
                acl(e(GROUP_OBJ, R), e(USER_OBJ, R), e(OTHER, R)), 0), "entries out of order");
        byte[] torn = java.util.Arrays.copyOf(acl(e(USER_OBJ, R), e(GROUP_OBJ, R), e(OTHER, R)), 20);
        assertErrno(Sys.EINVAL, Sys.setxattr(r.path("f"), ACCESS, torn, 0), "a torn entry");
        assertEquals(0644 & ~umask(), stat(r.path("f")).perm(), "the mode is untouched");
    }

    @OnBoth
    void defaultAclIsOnlyForDirectories(Root r) {
        touch(r.path("f"));
        assertErrno(Sys.EACCES, Sys.setxattr(r.path("f"), DEFAULT, acl(e(USER_OBJ, R), e(GROUP_OBJ, R), e(OTHER, R)), 0),
                "a default ACL on a file");
    }

    /**
     * A new file gets the directory's default ACL as its access ACL, masked by the mode open asked for
     * (the umask is not applied when a default ACL exists); a new directory gets it as both.
     */
    @OnBoth
    void defaultAclIsInheritedByNewFilesAndDirectories(Root r) {
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        byte[] inherit = acl(e(USER_OBJ, R | W | X), e(USER, R | W | X, NOBODY), e(GROUP_OBJ, R | X), e(MASK, R | W | X), e(OTHER, 0));
        ok(Sys.setxattr(r.path("d"), DEFAULT, inherit, 0), "setxattr " + DEFAULT);
        assertAcl(inherit, r.path("d"), DEFAULT);
        assertEquals(0755, stat(r.path("d")).perm(), "a default ACL does not change the directory's mode");

        close(open(r.path("d/f"), O_CREAT | O_WRONLY, 0666));
        assertEquals(0660, stat(r.path("d/f")).perm(), "user_obj & 6, mask & 6, other & 6; no umask");
        assertAcl(acl(e(USER_OBJ, R | W), e(USER, R | W | X, NOBODY), e(GROUP_OBJ, R | X), e(MASK, R | W), e(OTHER, 0)),
                r.path("d/f"), ACCESS);
        assertErrno(Sys.ENODATA, Sys.getxattr(r.path("d/f"), DEFAULT, 4096).result(), "files get no default ACL");

        ok(Sys.mkdir(r.path("d/sub"), 0777), "mkdir");
        assertEquals(0770, stat(r.path("d/sub")).perm());
        assertAcl(inherit, r.path("d/sub"), ACCESS);
        assertAcl(inherit, r.path("d/sub"), DEFAULT);
    }

    /** Without a default ACL the umask applies as usual (checked here so the case above cannot pass by accident). */
    @OnBoth
    void withoutADefaultAclTheUmaskApplies(Root r) {
        close(open(r.path("f"), O_CREAT | O_WRONLY, 0666));
        assertEquals(0666 & ~umask(), stat(r.path("f")).perm());
        assertErrno(Sys.ENODATA, Sys.getxattr(r.path("f"), ACCESS, 4096).result(), "no ACL");
    }

    /** The kernel enforces ACLs: a named user entry grants what the other bits deny. */
    @OnBoth
    @KnownDifference("ACLs are stored, inherited and kept in step with the mode, but libfuse 2 cannot ask the kernel to enforce them (FUSE_POSIX_ACL)")
    void aNamedUserEntryGrantsAccess(Root r) throws Exception {
        write(r.path("f"), "secret");
        ok(Sys.chmod(r.path("f"), 0600), "chmod");
        SysProcess nobody = nobody();
        assertErrno(Sys.EACCES, nobody.call("open", r.path("f"), O_RDONLY, 0), "nobody before the ACL");
        ok(Sys.setxattr(r.path("f"), ACCESS,
                acl(e(USER_OBJ, R | W), e(USER, R | W, NOBODY), e(GROUP_OBJ, 0), e(MASK, R | W), e(OTHER, 0)), 0), "setxattr");
        long fd = nobody.call("open", r.path("f"), O_RDWR, 0);
        ok(fd, "nobody opens O_RDWR through the ACL");
        assertEquals(1, nobody.call("pwrite", fd, "S", 0));
        ok(nobody.call("close", fd), "close");
        assertEquals(0, nobody.call("access", r.path("f"), Sys.R_OK | Sys.W_OK));
        assertEquals("Secret", read(r.path("f")));
    }

    /** The mask limits a named entry, and a named entry denies even what the other bits allow. */
    @OnBoth
    @KnownDifference("ACLs are not enforced under libfuse 2 (FUSE_POSIX_ACL)")
    void theMaskAndNamedEntriesLimitAccess(Root r) throws Exception {
        write(r.path("masked"), "x");
        ok(Sys.setxattr(r.path("masked"), ACCESS,
                acl(e(USER_OBJ, R | W), e(USER, R | W, NOBODY), e(GROUP_OBJ, 0), e(MASK, R), e(OTHER, 0)), 0), "setxattr");
        write(r.path("denied"), "x");
        ok(Sys.chmod(r.path("denied"), 0644), "chmod");
        ok(Sys.setxattr(r.path("denied"), ACCESS,
                acl(e(USER_OBJ, R | W), e(USER, 0, NOBODY), e(GROUP_OBJ, R), e(MASK, R), e(OTHER, R)), 0), "setxattr");
        SysProcess nobody = nobody();
        long fd = nobody.call("open", r.path("masked"), O_RDONLY, 0);
        ok(fd, "read through the mask");
        ok(nobody.call("close", fd), "close");
        assertErrno(Sys.EACCES, nobody.call("open", r.path("masked"), O_WRONLY, 0), "write beyond the mask");
        assertErrno(Sys.EACCES, nobody.call("open", r.path("denied"), O_RDONLY, 0), "a named entry with no rights");
    }

    /** A default ACL's named entry reaches a file created below it, for the user it names. */
    @OnBoth
    @KnownDifference("ACLs are not enforced under libfuse 2 (FUSE_POSIX_ACL)")
    void inheritedEntriesAreEnforced(Root r) throws Exception {
        ok(Sys.mkdir(r.path("d"), 0700), "mkdir");
        ok(Sys.setxattr(r.path("d"), ACCESS,
                acl(e(USER_OBJ, R | W | X), e(USER, R | X, NOBODY), e(GROUP_OBJ, 0), e(MASK, R | X), e(OTHER, 0)), 0), "setxattr");
        ok(Sys.setxattr(r.path("d"), DEFAULT,
                acl(e(USER_OBJ, R | W | X), e(USER, R | W, NOBODY), e(GROUP_OBJ, 0), e(MASK, R | W | X), e(OTHER, 0)), 0), "setxattr");
        close(open(r.path("d/f"), O_CREAT | O_WRONLY, 0666)); // 0666: the inherited mask becomes rw
        SysProcess nobody = nobody();
        long fd = nobody.call("open", r.path("d/f"), O_RDWR, 0);
        ok(fd, "nobody opens the new file through the inherited entry");
        ok(nobody.call("close", fd), "close");
        assertErrno(Sys.EACCES, nobody.call("open", r.path("d/new"), O_CREAT | O_WRONLY, 0644), "no w on the directory");
    }
}

package d4.it;

import static d4.it.Sys.XATTR_CREATE;
import static d4.it.Sys.XATTR_REPLACE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

/**
 * Extended attributes: get/set/list/remove, flags, buffer sizes, namespaces and limits.
 *
 * <p>Only what every Linux file system must agree on is asserted about sizes: the VFS refuses values
 * over 64 KiB (E2BIG) and names over 255 bytes (ERANGE) before any file system sees them. ext4 also
 * limits all of an inode's xattrs to about one block (ENOSPC beyond); d4 may legitimately keep more,
 * so no case depends on that limit (the largest value here, 3000 bytes, fits ext4's block).
 */
class PosixXattrIT extends PosixConformance {

    private static byte[] bytes(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static void assertValue(String expected, Sys.Bytes got, String what) {
        ok(got.result(), what);
        assertArrayEquals(bytes(expected), got.data(), what);
    }

    private static void setGetListRemove(String path) {
        ok(Sys.setxattr(path, "user.first", bytes("one"), 0), "setxattr");
        ok(Sys.setxattr(path, "user.second", bytes("two!"), 0), "setxattr");
        assertEquals(3, Sys.getxattr(path, "user.first", 0).result(), "a size-0 get returns the value's size");
        assertValue("one", Sys.getxattr(path, "user.first", 100), "getxattr");
        assertEquals(List.of("user.first", "user.second"), Sys.xattrNames(Sys.listxattr(path, 1000)));
        assertEquals("user.first\0user.second\0".length(), Sys.listxattr(path, 0).result(), "a size-0 list returns the size");
        ok(Sys.setxattr(path, "user.first", bytes("replaced"), 0), "setxattr over an existing name");
        assertValue("replaced", Sys.getxattr(path, "user.first", 100), "getxattr after replace");
        ok(Sys.removexattr(path, "user.first"), "removexattr");
        assertErrno(Sys.ENODATA, Sys.getxattr(path, "user.first", 100).result(), "getxattr after remove");
        assertErrno(Sys.ENODATA, Sys.removexattr(path, "user.first"), "removexattr of a removed name");
        assertEquals(List.of("user.second"), Sys.xattrNames(Sys.listxattr(path, 1000)));
    }

    @OnBoth
    void setGetListRemoveOnAFile(Root r) {
        write(r.path("f"), "content");
        assertEquals(0, Sys.listxattr(r.path("f"), 1000).result(), "a new file has no user xattrs");
        setGetListRemove(r.path("f"));
        assertEquals("content", read(r.path("f")), "xattrs are not data");
    }

    @OnBoth
    void setGetListRemoveOnADirectory(Root r) {
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        setGetListRemove(r.path("d"));
    }

    /** user.* is only for regular files and directories: on a symlink itself, set gives EPERM, get ENODATA. */
    @OnBoth
    void symlinksTakeNoUserXattrsButFollowingCallsReachTheTarget(Root r) {
        write(r.path("f"), "x");
        ok(Sys.symlink("f", r.path("l")), "symlink");
        assertErrno(Sys.EPERM, Sys.lsetxattr(r.path("l"), "user.k", bytes("v"), 0), "lsetxattr user.* on a symlink");
        assertErrno(Sys.ENODATA, Sys.lgetxattr(r.path("l"), "user.k", 100).result(), "lgetxattr user.* on a symlink");
        ok(Sys.setxattr(r.path("l"), "user.k", bytes("v"), 0), "setxattr through a symlink");
        assertValue("v", Sys.getxattr(r.path("f"), "user.k", 100), "the target has it");
        assertEquals(List.of(), Sys.xattrNames(Sys.llistxattr(r.path("l"), 1000)), "the symlink has none");
    }

    /** trusted.* (root only) is allowed on a symlink itself. */
    @OnBoth
    void trustedXattrsOnASymlinkItself(Root r) {
        write(r.path("f"), "x");
        ok(Sys.symlink("f", r.path("l")), "symlink");
        ok(Sys.lsetxattr(r.path("l"), "trusted.k", bytes("on the link"), 0), "lsetxattr trusted.* on a symlink");
        assertValue("on the link", Sys.lgetxattr(r.path("l"), "trusted.k", 100), "lgetxattr");
        assertErrno(Sys.ENODATA, Sys.getxattr(r.path("f"), "trusted.k", 100).result(), "the target does not have it");
        assertEquals(List.of("trusted.k"), Sys.xattrNames(Sys.llistxattr(r.path("l"), 1000)));
        ok(Sys.lremovexattr(r.path("l"), "trusted.k"), "lremovexattr");
        assertEquals(List.of(), Sys.xattrNames(Sys.llistxattr(r.path("l"), 1000)));
    }

    @OnBoth
    void createAndReplaceFlags(Root r) {
        write(r.path("f"), "x");
        ok(Sys.setxattr(r.path("f"), "user.k", bytes("v1"), XATTR_CREATE), "XATTR_CREATE of a new name");
        assertErrno(Sys.EEXIST, Sys.setxattr(r.path("f"), "user.k", bytes("v2"), XATTR_CREATE), "XATTR_CREATE of an existing name");
        assertValue("v1", Sys.getxattr(r.path("f"), "user.k", 100), "unchanged");
        ok(Sys.setxattr(r.path("f"), "user.k", bytes("v3"), XATTR_REPLACE), "XATTR_REPLACE of an existing name");
        assertValue("v3", Sys.getxattr(r.path("f"), "user.k", 100), "replaced");
        assertErrno(Sys.ENODATA, Sys.setxattr(r.path("f"), "user.missing", bytes("v"), XATTR_REPLACE),
                "XATTR_REPLACE of a missing name");
        assertErrno(Sys.EINVAL, Sys.setxattr(r.path("f"), "user.k", bytes("v"), 4), "an unknown flag");
        assertEquals(List.of("user.k"), Sys.xattrNames(Sys.listxattr(r.path("f"), 1000)));
    }

    @OnBoth
    void missingNamesAndFiles(Root r) {
        write(r.path("f"), "x");
        assertErrno(Sys.ENODATA, Sys.getxattr(r.path("f"), "user.none", 100).result(), "getxattr of a missing name");
        assertErrno(Sys.ENODATA, Sys.getxattr(r.path("f"), "user.none", 0).result(), "size query of a missing name");
        assertErrno(Sys.ENODATA, Sys.removexattr(r.path("f"), "user.none"), "removexattr of a missing name");
        assertErrno(Sys.ENOENT, Sys.setxattr(r.path("missing"), "user.k", bytes("v"), 0), "setxattr of a missing file");
        assertErrno(Sys.ENOENT, Sys.getxattr(r.path("missing"), "user.k", 100).result(), "getxattr of a missing file");
        assertErrno(Sys.ENOENT, Sys.listxattr(r.path("missing"), 100).result(), "listxattr of a missing file");
    }

    @OnBoth
    void smallBuffersGiveErange(Root r) {
        write(r.path("f"), "x");
        ok(Sys.setxattr(r.path("f"), "user.k", bytes("12345"), 0), "setxattr");
        assertErrno(Sys.ERANGE, Sys.getxattr(r.path("f"), "user.k", 4).result(), "getxattr with a buffer one byte short");
        assertValue("12345", Sys.getxattr(r.path("f"), "user.k", 5), "getxattr with an exact buffer");
        assertErrno(Sys.ERANGE, Sys.listxattr(r.path("f"), "user.k".length()).result(), "listxattr without room for the NUL");
        assertEquals("user.k\0".length(), Sys.listxattr(r.path("f"), "user.k\0".length()).result(), "an exact list buffer");
    }

    @OnBoth
    void emptyValuesAreValues(Root r) {
        write(r.path("f"), "x");
        ok(Sys.setxattr(r.path("f"), "user.empty", new byte[0], 0), "setxattr of an empty value");
        assertEquals(0, Sys.getxattr(r.path("f"), "user.empty", 0).result());
        assertEquals(0, Sys.getxattr(r.path("f"), "user.empty", 100).result());
        assertEquals(List.of("user.empty"), Sys.xattrNames(Sys.listxattr(r.path("f"), 1000)));
        assertErrno(Sys.EEXIST, Sys.setxattr(r.path("f"), "user.empty", bytes("x"), XATTR_CREATE), "it exists");
    }

    @OnBoth
    void valuesAreBinaryAndUpToTheSharedLimits(Root r) {
        write(r.path("f"), "x");
        byte[] binary = new byte[3000];
        for (int i = 0; i < binary.length; i++) {
            binary[i] = (byte) (i * 31);
        }
        ok(Sys.setxattr(r.path("f"), "user.binary", binary, 0), "setxattr of 3000 binary bytes");
        Sys.Bytes back = Sys.getxattr(r.path("f"), "user.binary", 65536);
        assertArrayEquals(binary, back.data());
        assertErrno(Sys.E2BIG, Sys.setxattr(r.path("f"), "user.huge", new byte[65537], 0), "a value over 64 KiB");
        String longest = "user." + "n".repeat(250);
        ok(Sys.setxattr(r.path("f"), longest, bytes("v"), 0), "a 255-byte name");
        assertValue("v", Sys.getxattr(r.path("f"), longest, 10), "getxattr of a 255-byte name");
        assertErrno(Sys.ERANGE, Sys.setxattr(r.path("f"), longest + "n", bytes("v"), 0), "a 256-byte name");
        assertErrno(Sys.ERANGE, Sys.getxattr(r.path("f"), longest + "n", 10).result(), "getxattr of a 256-byte name");
        assertEquals(List.of("user.binary", longest), Sys.xattrNames(Sys.listxattr(r.path("f"), 65536)));
    }

    @OnBoth
    void namesNeedAKnownNamespaceAndASuffix(Root r) {
        write(r.path("f"), "x");
        assertErrno(Sys.EOPNOTSUPP, Sys.setxattr(r.path("f"), "foo.bar", bytes("v"), 0), "setxattr in an unknown namespace");
        assertErrno(Sys.EOPNOTSUPP, Sys.getxattr(r.path("f"), "foo.bar", 10).result(), "getxattr in an unknown namespace");
        assertErrno(Sys.EOPNOTSUPP, Sys.setxattr(r.path("f"), "noprefix", bytes("v"), 0), "a name without a namespace");
        assertErrno(Sys.EINVAL, Sys.setxattr(r.path("f"), "user.", bytes("v"), 0), "an empty name after user.");
        assertErrno(Sys.EINVAL, Sys.setxattr(r.path("f"), "trusted.", bytes("v"), 0), "an empty name after trusted.");
        assertErrno(Sys.EINVAL, Sys.getxattr(r.path("f"), "user.", 10).result(), "getxattr of an empty name after user.");
        assertErrno(Sys.ERANGE, Sys.setxattr(r.path("f"), "", bytes("v"), 0), "an empty name");
        assertEquals(0, Sys.listxattr(r.path("f"), 1000).result(), "nothing was stored");
    }

    @OnBoth
    void trustedAndSecurityNamespacesAsRoot(Root r) {
        write(r.path("f"), "x");
        ok(Sys.setxattr(r.path("f"), "trusted.t", bytes("tv"), 0), "setxattr trusted.*");
        ok(Sys.setxattr(r.path("f"), "security.s", bytes("sv"), 0), "setxattr security.*");
        assertValue("tv", Sys.getxattr(r.path("f"), "trusted.t", 10), "getxattr trusted.*");
        assertValue("sv", Sys.getxattr(r.path("f"), "security.s", 10), "getxattr security.*");
        assertEquals(List.of("security.s", "trusted.t"), Sys.xattrNames(Sys.listxattr(r.path("f"), 1000)));
        ok(Sys.removexattr(r.path("f"), "trusted.t"), "removexattr trusted.*");
        assertEquals(List.of("security.s"), Sys.xattrNames(Sys.listxattr(r.path("f"), 1000)));
    }

    /** Attributes belong to the inode: every hard link shows them, and a rename keeps them. */
    @OnBoth
    void xattrsFollowTheInode(Root r) {
        write(r.path("f"), "x");
        ok(Sys.setxattr(r.path("f"), "user.k", bytes("v"), 0), "setxattr");
        ok(Sys.link(r.path("f"), r.path("g")), "link");
        assertValue("v", Sys.getxattr(r.path("g"), "user.k", 10), "through the other link");
        ok(Sys.rename(r.path("f"), r.path("h")), "rename");
        assertValue("v", Sys.getxattr(r.path("h"), "user.k", 10), "after rename");
        ok(Sys.unlink(r.path("g")), "unlink");
        ok(Sys.unlink(r.path("h")), "unlink");
        write(r.path("h"), "new");
        assertEquals(0, Sys.listxattr(r.path("h"), 1000).result(), "a new inode under an old name starts clean");
    }

    @OnBoth
    void manyAttributesListCompletely(Root r) {
        write(r.path("f"), "x");
        for (int i = 0; i < 40; i++) {
            ok(Sys.setxattr(r.path("f"), "user.a" + i, bytes(Integer.toString(i)), 0), "setxattr #" + i);
        }
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            expected.add("user.a" + i);
        }
        expected.sort(null);
        assertEquals(expected, Sys.xattrNames(Sys.listxattr(r.path("f"), 65536)));
        for (int i = 0; i < 40; i++) {
            assertValue(Integer.toString(i), Sys.getxattr(r.path("f"), "user.a" + i, 10), "user.a" + i);
        }
        assertEquals(expected.stream().mapToInt(n -> n.length() + 1).sum(), Sys.listxattr(r.path("f"), 0).result(),
                "a size-0 list: every name and its NUL");
    }
}

package d4.it;

import static d4.it.Sys.O_RDONLY;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.charset.StandardCharsets;

/** link(2), symlink(2), readlink(2), and stat versus lstat. */
class PosixLinkIT extends PosixConformance {

    @OnBoth
    void hardLinksAcrossDirectoriesShareTheInode(Root r) {
        ok(Sys.mkdir(r.path("a"), 0755), "mkdir");
        ok(Sys.mkdir(r.path("b"), 0755), "mkdir");
        write(r.path("a/f"), "shared");
        ok(Sys.link(r.path("a/f"), r.path("b/g")), "link");
        Sys.Stat f = stat(r.path("a/f"));
        Sys.Stat g = stat(r.path("b/g"));
        assertEquals(f.ino(), g.ino());
        assertEquals(2, f.nlink(), "link count through a/f");
        assertEquals(2, g.nlink(), "link count through b/g");
        write(r.path("b/g"), "changed");
        assertEquals("changed", read(r.path("a/f")), "what was written through b/g, read through a/f");
        ok(Sys.unlink(r.path("a/f")), "unlink");
        assertEquals(1, stat(r.path("b/g")).nlink());
        assertEquals("changed", read(r.path("b/g")));
        assertEquals(2, stat(r.path("a")).nlink(), "hard links never change directory link counts");
    }

    @OnBoth
    void linkErrors(Root r) {
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        write(r.path("f"), "x");
        write(r.path("taken"), "y");
        assertErrno(Sys.EPERM, Sys.link(r.path("d"), r.path("d2")), "link to a directory");
        assertErrno(Sys.EEXIST, Sys.link(r.path("f"), r.path("taken")), "link to an existing name");
        assertErrno(Sys.EEXIST, Sys.link(r.path("f"), r.path("d")), "link over a directory");
        assertErrno(Sys.ENOENT, Sys.link(r.path("missing"), r.path("new")), "link of a missing file");
        assertErrno(Sys.ENOENT, Sys.link(r.path("f"), r.path("missing/new")), "link into a missing directory");
        assertErrno(Sys.ENOTDIR, Sys.link(r.path("f"), r.path("taken/new")), "link under a file");
        assertEquals(1, stat(r.path("f")).nlink());
        assertEquals("y", read(r.path("taken")));
    }

    /** link(2) does not follow a symlink: the new name is a second link to the symlink itself. */
    @OnBoth
    void linkToASymlinkLinksTheSymlink(Root r) {
        write(r.path("f"), "x");
        ok(Sys.symlink("f", r.path("l")), "symlink");
        ok(Sys.link(r.path("l"), r.path("l2")), "link to a symlink");
        Sys.Stat st = lstat(r.path("l2"));
        assertEquals(Sys.S_IFLNK, st.type());
        assertEquals(2, st.nlink());
        assertEquals(1, stat(r.path("f")).nlink());
        assertArrayEquals("f".getBytes(), Sys.readlink(r.path("l2")).data());
    }

    @OnBoth
    void symlinkTargetsAreKeptByteForByte(Root r) {
        for (String target : new String[] {"plain", "../up/./and//down/", "/absolute/path", "with space and ünïcødé",
                "trailing/", "x".repeat(4095)}) {
            String name = "l" + target.hashCode();
            ok(Sys.symlink(target, r.path(name)), "symlink to " + target.length() + " bytes");
            Sys.Bytes back = Sys.readlink(r.path(name));
            assertArrayEquals(target.getBytes(StandardCharsets.UTF_8), back.data(), "readlink of " + name);
            Sys.Stat st = lstat(r.path(name));
            assertEquals(target.getBytes(StandardCharsets.UTF_8).length, st.size(), "a symlink's size is its target's length");
            assertEquals(Sys.S_IFLNK | 0777, st.mode());
            assertEquals(1, st.nlink());
        }
    }

    /** Names and targets are byte strings, not text: bytes that are not UTF-8 must come back unchanged. */
    @OnBoth
    @KnownDifference("jnr-fuse passes names and symlink targets as Java Strings: bytes that are not UTF-8 do not round-trip")
    void symlinkTargetsThatAreNotUtf8AreKept(Root r) {
        byte[] target = {'a', (byte) 0xff, (byte) 0xfe, 'b', (byte) 0xc3};
        ok(Sys.symlink(target, r.path("l")), "symlink");
        assertArrayEquals(target, Sys.readlink(r.path("l")).data(), "readlink of a target with bytes 0xff 0xfe 0xc3");
        assertEquals(target.length, lstat(r.path("l")).size());
    }

    @OnBoth
    void symlinkErrors(Root r) {
        write(r.path("f"), "x");
        assertErrno(Sys.EEXIST, Sys.symlink("anything", r.path("f")), "symlink over an existing name");
        assertErrno(Sys.ENOENT, Sys.symlink("", r.path("empty")), "an empty target");
        assertErrno(Sys.ENAMETOOLONG, Sys.symlink("x".repeat(4096), r.path("long")), "a 4096-byte target");
        assertErrno(Sys.ENOENT, Sys.symlink("t", r.path("missing/l")), "symlink in a missing directory");
        assertErrno(Sys.EINVAL, Sys.readlink(r.path("f")).result(), "readlink of a regular file");
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        assertErrno(Sys.EINVAL, Sys.readlink(r.path("d")).result(), "readlink of a directory");
        assertErrno(Sys.ENOENT, Sys.readlink(r.path("missing")).result(), "readlink of a missing name");
    }

    @OnBoth
    void statFollowsAndLstatDoesNot(Root r) {
        write(r.path("f"), "12345");
        ok(Sys.symlink("f", r.path("l")), "symlink");
        Sys.Stat viaLink = stat(r.path("l"));
        Sys.Stat link = lstat(r.path("l"));
        Sys.Stat file = stat(r.path("f"));
        assertEquals(file.ino(), viaLink.ino());
        assertEquals(Sys.S_IFREG, viaLink.type());
        assertEquals(5, viaLink.size());
        assertEquals(Sys.S_IFLNK, link.type());
        assertEquals(1, link.size());
        assertNotEquals(file.ino(), link.ino());
        assertEquals("12345", read(r.path("l")), "open follows");
    }

    @OnBoth
    void danglingSymlinks(Root r) {
        ok(Sys.symlink("nowhere", r.path("l")), "a symlink to nothing is allowed");
        assertEquals(Sys.S_IFLNK, lstat(r.path("l")).type());
        assertErrno(Sys.ENOENT, Sys.stat(r.path("l")).result(), "stat through a dangling symlink");
        assertErrno(Sys.ENOENT, Sys.open(r.path("l"), O_RDONLY), "open through a dangling symlink");
        assertArrayEquals("nowhere".getBytes(), Sys.readlink(r.path("l")).data());
        write(r.path("nowhere"), "now here");
        assertEquals("now here", read(r.path("l")), "it resolves once the target exists");
    }

    @OnBoth
    void symlinkLoopsGiveEloop(Root r) {
        ok(Sys.symlink("b", r.path("a")), "symlink");
        ok(Sys.symlink("a", r.path("b")), "symlink");
        assertErrno(Sys.ELOOP, Sys.stat(r.path("a")).result(), "stat of a symlink loop");
        assertErrno(Sys.ELOOP, Sys.open(r.path("a"), O_RDONLY), "open of a symlink loop");
        ok(Sys.symlink("self", r.path("self")), "symlink");
        assertErrno(Sys.ELOOP, Sys.stat(r.path("self/x")).result(), "a loop as a directory component");
    }

    @OnBoth
    void symlinksToDirectoriesResolveInPaths(Root r) {
        ok(Sys.mkdir(r.path("real"), 0755), "mkdir");
        write(r.path("real/f"), "inside");
        ok(Sys.symlink("real", r.path("alias")), "symlink");
        assertEquals("inside", read(r.path("alias/f")));
        assertEquals(Sys.S_IFDIR, stat(r.path("alias/")).type(), "a trailing slash follows the symlink");
        assertEquals(stat(r.path()).ino(), stat(r.path("alias/..")).ino(), "'..' of the target, not of the link");
    }
}

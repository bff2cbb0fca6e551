package d4.it;

import static d4.it.Sys.O_RDONLY;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

/** rename(2): replacing, type mismatches, subtrees, no-ops, moves across directories. */
class PosixRenameIT extends PosixConformance {

    @OnBoth
    void fileOverFileReplacesAtomicallyAndOtherLinksKeepTheOldInode(Root r) {
        write(r.path("src"), "new");
        write(r.path("dst"), "old");
        ok(Sys.link(r.path("dst"), r.path("other-link")), "link");
        long srcIno = stat(r.path("src")).ino();
        long oldIno = stat(r.path("dst")).ino();
        ok(Sys.rename(r.path("src"), r.path("dst")), "rename");
        assertEquals(-Sys.ENOENT, Sys.stat(r.path("src")).result());
        assertEquals("new", read(r.path("dst")));
        assertEquals(srcIno, stat(r.path("dst")).ino());
        assertEquals("old", read(r.path("other-link")));
        assertEquals(oldIno, stat(r.path("other-link")).ino());
        assertEquals(1, stat(r.path("other-link")).nlink(), "the replaced name's link is gone");
        assertEquals(List.of(".", "..", "dst", "other-link"), names(r.path()));
    }

    @OnBoth
    void aReplacedFileThatIsOpenStaysReadable(Root r) {
        write(r.path("src"), "new");
        write(r.path("dst"), "old");
        int fd = open(r.path("dst"), O_RDONLY);
        ok(Sys.rename(r.path("src"), r.path("dst")), "rename");
        assertArrayEquals("old".getBytes(), Sys.pread(fd, 10, 0).data());
        assertEquals(0, fstat(fd).nlink());
        close(fd);
        assertEquals("new", read(r.path("dst")));
        assertEquals(List.of(".", "..", "dst"), names(r.path()));
    }

    @OnBoth
    void directoryOverEmptyDirectory(Root r) {
        ok(Sys.mkdir(r.path("a"), 0755), "mkdir");
        write(r.path("a/f"), "x");
        ok(Sys.mkdir(r.path("b"), 0755), "mkdir");
        long ino = stat(r.path("a")).ino();
        assertEquals(4, stat(r.path()).nlink());
        ok(Sys.rename(r.path("a"), r.path("b")), "rename a directory over an empty one");
        assertEquals(ino, stat(r.path("b")).ino());
        assertEquals("x", read(r.path("b/f")));
        assertEquals(-Sys.ENOENT, Sys.stat(r.path("a")).result());
        assertEquals(3, stat(r.path()).nlink(), "one subdirectory less");
    }

    @OnBoth
    void typeAndEmptinessMismatchesFail(Root r) {
        ok(Sys.mkdir(r.path("dir"), 0755), "mkdir");
        ok(Sys.mkdir(r.path("full"), 0755), "mkdir");
        write(r.path("full/f"), "x");
        write(r.path("file"), "y");
        assertErrno(Sys.ENOTEMPTY, Sys.rename(r.path("dir"), r.path("full")), "directory over a non-empty directory");
        assertErrno(Sys.ENOTDIR, Sys.rename(r.path("dir"), r.path("file")), "directory over a file");
        assertErrno(Sys.EISDIR, Sys.rename(r.path("file"), r.path("dir")), "file over a directory");
        assertErrno(Sys.ENOTDIR, Sys.rename(r.path("file"), r.path("dir2/")), "file to a name with a trailing slash");
        assertEquals(List.of(".", "..", "dir", "file", "full"), names(r.path()), "nothing moved");
        assertEquals("x", read(r.path("full/f")));
    }

    @OnBoth
    void directoryIntoItsOwnSubtreeFails(Root r) {
        ok(Sys.mkdir(r.path("a"), 0755), "mkdir");
        ok(Sys.mkdir(r.path("a/b"), 0755), "mkdir");
        assertErrno(Sys.EINVAL, Sys.rename(r.path("a"), r.path("a/b/c")), "into its own subtree");
        assertErrno(Sys.EINVAL, Sys.rename(r.path("a"), r.path("a/c")), "into itself");
        // Onto an ancestor: the ancestor is not empty (it holds the source).
        assertErrno(Sys.ENOTEMPTY, Sys.rename(r.path("a/b"), r.path("a")), "onto its own parent");
        assertErrno(Sys.EBUSY, Sys.rename(r.path("a/."), r.path("x")), "rename of '.'");
        assertEquals(Sys.S_IFDIR, stat(r.path("a/b")).type());
    }

    @OnBoth
    void renameToItselfOrToAnotherLinkOfItselfDoesNothing(Root r) {
        write(r.path("f"), "same");
        ok(Sys.rename(r.path("f"), r.path("f")), "rename to itself");
        assertEquals("same", read(r.path("f")));
        ok(Sys.link(r.path("f"), r.path("g")), "link");
        ok(Sys.rename(r.path("f"), r.path("g")), "rename to a hard link of itself");
        assertEquals(List.of(".", "..", "f", "g"), names(r.path()), "both names stay");
        assertEquals(2, stat(r.path("f")).nlink());
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        ok(Sys.rename(r.path("d"), r.path("d")), "a directory to itself");
        assertEquals(2, stat(r.path("d")).nlink());
    }

    @OnBoth
    void directoryMovesAcrossParentsWithDotDotAndLinkCounts(Root r) {
        ok(Sys.mkdir(r.path("p1"), 0755), "mkdir");
        ok(Sys.mkdir(r.path("p2"), 0755), "mkdir");
        ok(Sys.mkdir(r.path("p1/x"), 0755), "mkdir");
        ok(Sys.mkdir(r.path("p1/x/sub"), 0755), "mkdir");
        write(r.path("p1/x/f"), "deep");
        assertEquals(3, stat(r.path("p1")).nlink());
        assertEquals(2, stat(r.path("p2")).nlink());
        ok(Sys.rename(r.path("p1/x"), r.path("p2/y")), "rename across directories");
        assertEquals(2, stat(r.path("p1")).nlink());
        assertEquals(3, stat(r.path("p2")).nlink());
        assertEquals(3, stat(r.path("p2/y")).nlink(), "its own count does not change");
        assertEquals(stat(r.path("p2")).ino(), stat(r.path("p2/y/..")).ino(), "'..' follows the move");
        long dotDot = entries(r.path("p2/y")).stream().filter(e -> e.nameString().equals("..")).findFirst().orElseThrow().ino();
        assertEquals(stat(r.path("p2")).ino(), dotDot, "the '..' entry in a listing follows too");
        assertEquals("deep", read(r.path("p2/y/f")));
        assertEquals(List.of(".", ".."), names(r.path("p1")));
    }

    @OnBoth
    void fileMovesAcrossDirectories(Root r) {
        ok(Sys.mkdir(r.path("a"), 0755), "mkdir");
        ok(Sys.mkdir(r.path("b"), 0755), "mkdir");
        write(r.path("a/f"), "moved");
        long ino = stat(r.path("a/f")).ino();
        ok(Sys.rename(r.path("a/f"), r.path("b/g")), "rename");
        assertEquals(ino, stat(r.path("b/g")).ino());
        assertEquals(1, stat(r.path("b/g")).nlink());
        assertEquals("moved", read(r.path("b/g")));
        assertEquals(2, stat(r.path("a")).nlink(), "files do not change directory link counts");
        assertEquals(2, stat(r.path("b")).nlink());
    }

    @OnBoth
    void missingOrImpossibleNamesFail(Root r) {
        write(r.path("f"), "x");
        assertErrno(Sys.ENOENT, Sys.rename(r.path("missing"), r.path("g")), "rename of a missing source");
        assertErrno(Sys.ENOENT, Sys.rename(r.path("f"), r.path("missing/g")), "rename into a missing directory");
        assertErrno(Sys.ENOTDIR, Sys.rename(r.path("f"), r.path("f/g")), "rename under a file");
        assertErrno(Sys.ENAMETOOLONG, Sys.rename(r.path("f"), r.path("n".repeat(256))), "a 256-byte target name");
        assertEquals("x", read(r.path("f")));
    }

    @OnBoth
    void symlinksAreRenamedNotFollowed(Root r) {
        write(r.path("target"), "t");
        ok(Sys.symlink("target", r.path("link")), "symlink");
        write(r.path("other"), "o");
        ok(Sys.rename(r.path("other"), r.path("link")), "rename a file over a symlink");
        assertEquals(Sys.S_IFREG, lstat(r.path("link")).type(), "the symlink itself was replaced");
        assertEquals("t", read(r.path("target")));
        ok(Sys.symlink("target", r.path("l2")), "symlink");
        ok(Sys.rename(r.path("l2"), r.path("l3")), "rename a symlink");
        assertArrayEquals("target".getBytes(), Sys.readlink(r.path("l3")).data());
    }
}

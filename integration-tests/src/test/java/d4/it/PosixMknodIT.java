package d4.it;

import static d4.it.Sys.O_NONBLOCK;
import static d4.it.Sys.O_RDONLY;
import static d4.it.Sys.O_WRONLY;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

/**
 * mknod(2) of every node type. Device nodes are only created and stat'ed, never opened: d4 mounts
 * nodev (libfuse's default), so opening one there is refused by the mount, not by the file system.
 */
class PosixMknodIT extends PosixConformance {

    @OnBoth
    void fifoIsCreatedAndOpensWithoutBlocking(Root r) {
        ok(Sys.mknod(r.path("fifo"), Sys.S_IFIFO | 0640, 0), "mknod S_IFIFO");
        Sys.Stat st = lstat(r.path("fifo"));
        assertEquals(Sys.S_IFIFO | (0640 & ~umask()), st.mode());
        assertEquals(0, st.rdev());
        assertEquals(0, st.size());
        assertEquals(1, st.nlink());
        int rd = open(r.path("fifo"), O_RDONLY | O_NONBLOCK);
        assertEquals(0, Sys.read(rd, 10).result(), "no writer: end of file");
        int wr = open(r.path("fifo"), O_WRONLY | O_NONBLOCK);
        assertEquals(5, Sys.write(wr, "piped".getBytes()));
        assertEquals("piped", new String(Sys.read(rd, 10).data()), "data goes through the pipe");
        close(wr);
        close(rd);
        assertEquals(0, lstat(r.path("fifo")).size(), "nothing is stored");
    }

    @OnBoth
    void fifoWithoutAReaderRefusesANonBlockingWriter(Root r) {
        ok(Sys.mknod(r.path("fifo"), Sys.S_IFIFO | 0644, 0), "mknod");
        assertErrno(Sys.ENXIO, Sys.open(r.path("fifo"), O_WRONLY | O_NONBLOCK), "O_WRONLY|O_NONBLOCK without a reader");
    }

    @OnBoth
    void socketNodeIsCreatedAndCannotBeOpened(Root r) {
        ok(Sys.mknod(r.path("sock"), Sys.S_IFSOCK | 0755, 0), "mknod S_IFSOCK");
        Sys.Stat st = lstat(r.path("sock"));
        assertEquals(Sys.S_IFSOCK, st.type());
        assertEquals(0755 & ~umask(), st.perm());
        assertErrno(Sys.ENXIO, Sys.open(r.path("sock"), O_RDONLY), "open of a socket node");
    }

    @OnBoth
    void deviceNodesKeepTheirNumbers(Root r) {
        long devNull = Sys.makedev(1, 3);
        long big = Sys.makedev(259, 70_000); // needs the 32-bit encoding: 12-bit major, 20-bit minor
        ok(Sys.mknod(r.path("chr"), Sys.S_IFCHR | 0600, devNull), "mknod S_IFCHR");
        ok(Sys.mknod(r.path("blk"), Sys.S_IFBLK | 0660, big), "mknod S_IFBLK");
        Sys.Stat chr = lstat(r.path("chr"));
        assertEquals(Sys.S_IFCHR | 0600, chr.mode());
        assertEquals(devNull, chr.rdev());
        assertEquals(0, chr.size());
        Sys.Stat blk = lstat(r.path("blk"));
        assertEquals(Sys.S_IFBLK | (0660 & ~umask()), blk.mode());
        assertEquals(big, blk.rdev());
    }

    @OnBoth
    void specialNodesListWithTheirTypes(Root r) {
        ok(Sys.mknod(r.path("fifo"), Sys.S_IFIFO | 0644, 0), "mknod");
        ok(Sys.mknod(r.path("sock"), Sys.S_IFSOCK | 0644, 0), "mknod");
        ok(Sys.mknod(r.path("chr"), Sys.S_IFCHR | 0644, Sys.makedev(1, 3)), "mknod");
        ok(Sys.mknod(r.path("blk"), Sys.S_IFBLK | 0644, Sys.makedev(7, 0)), "mknod");
        java.util.Map<String, Integer> types = new java.util.TreeMap<>();
        for (Sys.Dirent e : entries(r.path())) {
            types.put(e.nameString(), e.type());
        }
        assertEquals(Sys.DT_FIFO, types.get("fifo"));
        assertEquals(Sys.DT_SOCK, types.get("sock"));
        assertEquals(Sys.DT_CHR, types.get("chr"));
        assertEquals(Sys.DT_BLK, types.get("blk"));
    }

    @OnBoth
    void specialNodesRenameLinkAndUnlinkLikeFiles(Root r) {
        ok(Sys.mknod(r.path("fifo"), Sys.S_IFIFO | 0644, 0), "mknod");
        ok(Sys.link(r.path("fifo"), r.path("fifo2")), "link");
        assertEquals(2, lstat(r.path("fifo")).nlink(), "the FIFO's link count after link()");
        ok(Sys.rename(r.path("fifo"), r.path("renamed")), "rename");
        assertEquals(Sys.S_IFIFO, lstat(r.path("renamed")).type());
        ok(Sys.chmod(r.path("renamed"), 0600), "chmod");
        assertEquals(Sys.S_IFIFO | 0600, lstat(r.path("fifo2")).mode());
        ok(Sys.unlink(r.path("renamed")), "unlink");
        ok(Sys.unlink(r.path("fifo2")), "unlink");
        assertEquals(List.of(".", ".."), names(r.path()));
    }

    @OnBoth
    void regularFilesAndErrors(Root r) {
        ok(Sys.mknod(r.path("reg"), Sys.S_IFREG | 0644, 0), "mknod S_IFREG");
        assertEquals(Sys.S_IFREG, lstat(r.path("reg")).type());
        ok(Sys.mknod(r.path("typeless"), 0644, 0), "mknod with no type");
        assertEquals(Sys.S_IFREG, lstat(r.path("typeless")).type(), "no type means a regular file");
        assertErrno(Sys.EEXIST, Sys.mknod(r.path("reg"), Sys.S_IFIFO | 0644, 0), "mknod over an existing name");
        assertErrno(Sys.EPERM, Sys.mknod(r.path("dir"), Sys.S_IFDIR | 0755, 0), "mknod of a directory");
        assertErrno(Sys.EINVAL, Sys.mknod(r.path("bad"), 0170000 | 0644, 0), "mknod of an unknown type");
        assertErrno(Sys.ENOENT, Sys.mknod(r.path("missing/f"), Sys.S_IFIFO | 0644, 0), "mknod in a missing directory");
    }
}

package d4.fs;

import static d4.fs.FileSystemTest.errorOf;
import static d4.fs.FileSystemTest.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.Pool;
import d4.engine.PoolOptions;
import d4.engine.VolumeSpec;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Extended attributes, POSIX ACLs, special files, fallocate and atime in the namespace, on a real pool. */
class ExtendedAttributesTest {
    @TempDir
    Path dir;

    Path volume;
    Pool pool;
    FileSystem fs;
    final Caller alice = new Caller(1000, 1000, 022);

    @BeforeEach
    void open() {
        volume = dir.resolve("v.d4vol");
        Pool.format("t", List.of(new VolumeSpec(volume, 64L << 20)));
        reopen();
    }

    void reopen() {
        if (pool != null) {
            pool.close();
        }
        pool = Pool.open(List.of(volume), PoolOptions.defaults().withDriveFactory(
                d4.engine.io.DriveFactory.forEngine(System.getProperty("d4.test.ioEngine", "io_uring"))));
        fs = new FileSystem(pool);
    }

    @AfterEach
    void close() {
        pool.close();
    }

    /** An ACL blob: pairs of (tag, perm, id) triples. */
    static byte[] acl(int... tagPermId) {
        ByteBuffer b = ByteBuffer.allocate(4 + tagPermId.length / 3 * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(2);
        for (int i = 0; i < tagPermId.length; i += 3) {
            b.putShort((short) tagPermId[i]).putShort((short) tagPermId[i + 1]).putInt(tagPermId[i + 2]);
        }
        return b.array();
    }

    @Test
    void setGetListRemoveWithFlagsAndErrors() {
        fs.release(fs.create("/f", 0644, alice).id());
        fs.setxattr("/f", "user.a", utf8("one"), 0);
        fs.setxattr("/f", "user.empty", new byte[0], 0);
        fs.setxattr("/f", "trusted.t", utf8("t"), 0);
        assertArrayEquals(utf8("one"), fs.getxattr("/f", "user.a"));
        assertArrayEquals(new byte[0], fs.getxattr("/f", "user.empty"));
        assertEquals(FsError.EXISTS, errorOf(() -> fs.setxattr("/f", "user.a", utf8("x"), FileSystem.XATTR_CREATE)));
        assertEquals(FsError.NO_ATTRIBUTE, errorOf(() -> fs.setxattr("/f", "user.b", utf8("x"), FileSystem.XATTR_REPLACE)));
        fs.setxattr("/f", "user.a", utf8("two"), FileSystem.XATTR_REPLACE);
        assertArrayEquals(utf8("two"), fs.getxattr("/f", "user.a"));
        assertEquals(FsError.NO_ATTRIBUTE, errorOf(() -> fs.getxattr("/f", "user.missing")));
        assertEquals(FsError.NOT_SUPPORTED, errorOf(() -> fs.setxattr("/f", "foo.bar", utf8("x"), 0)));
        assertEquals(FsError.NOT_SUPPORTED, errorOf(() -> fs.setxattr("/f", "system.other", utf8("x"), 0)));
        assertEquals(List.of("trusted.t", "user.a", "user.empty"), fs.listxattr("/f", Caller.ROOT));
        assertEquals(List.of("user.a", "user.empty"), fs.listxattr("/f", alice), "trusted. is for root only");
        fs.removexattr("/f", "user.a");
        assertEquals(FsError.NO_ATTRIBUTE, errorOf(() -> fs.removexattr("/f", "user.a")));
        fs.symlink(utf8("f"), "/l", alice);
        assertEquals(FsError.NOT_PERMITTED, errorOf(() -> fs.setxattr("/l", "user.a", utf8("x"), 0)));
        fs.setxattr("/l", "trusted.ok", utf8("x"), 0);
        assertEquals(FsError.LIST_TOO_BIG, errorOf(() -> fs.setxattr("/f", "user.big", new byte[65537], 0)));
        fs.setxattr("/f", "user.max", new byte[65536], 0);
        reopen();
        assertEquals(65536, fs.getxattr("/f", "user.max").length, "attributes persist");
        assertEquals(List.of("trusted.t", "user.empty", "user.max"), fs.listxattr("/f", Caller.ROOT));
    }

    @Test
    void setxattrChangesCtimeNotMtime() throws Exception {
        fs.release(fs.create("/f", 0644, alice).id());
        Inode before = fs.getattr("/f");
        Thread.sleep(5);
        fs.setxattr("/f", "user.a", utf8("v"), 0);
        Inode after = fs.getattr("/f");
        assertEquals(before.mtime(), after.mtime());
        assertTrue(after.ctime().compareTo(before.ctime()) > 0);
    }

    @Test
    void accessAclSetsTheModeAndFollowsChmod() {
        fs.release(fs.create("/f", 0644, alice).id());
        byte[] blob = acl(Acl.USER_OBJ, 7, -1, Acl.USER, 5, 1234, Acl.GROUP_OBJ, 4, -1, Acl.MASK, 5, -1, Acl.OTHER, 0, -1);
        fs.setxattr("/f", Acl.ACCESS, blob, 0);
        assertEquals(0750, fs.getattr("/f").mode() & 0777, "group bits show the mask");
        assertArrayEquals(blob, fs.getxattr("/f", Acl.ACCESS));
        fs.chmod("/f", 0640);
        Acl after = Acl.decode(fs.getxattr("/f", Acl.ACCESS));
        assertEquals(0640, after.modeBits());
        assertEquals(new Acl.AclEntry(Acl.USER, 5, 1234), after.entries().get(1), "named entries are kept");
        // An ACL that the mode says in full is not stored (as on ext4): only the mode changes.
        fs.setxattr("/f", Acl.ACCESS, acl(Acl.USER_OBJ, 6, -1, Acl.GROUP_OBJ, 0, -1, Acl.OTHER, 0, -1), 0);
        assertEquals(0600, fs.getattr("/f").mode() & 0777);
        assertEquals(FsError.NO_ATTRIBUTE, errorOf(() -> fs.getxattr("/f", Acl.ACCESS)));
        assertEquals(FsError.INVALID, errorOf(() -> fs.setxattr("/f", Acl.ACCESS,
                acl(Acl.USER_OBJ, 7, -1, Acl.USER, 5, 1, Acl.GROUP_OBJ, 4, -1, Acl.OTHER, 0, -1), 0)), "named entry without mask");
        assertEquals(FsError.INVALID, errorOf(() -> fs.setxattr("/f", Acl.ACCESS, new byte[] {2, 0, 0, 0, 1}, 0)));
        assertEquals(FsError.ACCESS_DENIED, errorOf(() -> fs.setxattr("/f", Acl.DEFAULT,
                acl(Acl.USER_OBJ, 7, -1, Acl.GROUP_OBJ, 5, -1, Acl.OTHER, 5, -1), 0)), "default ACLs are for directories");
    }

    @Test
    void defaultAclIsInheritedInsteadOfTheUmask() {
        fs.mkdir("/d", 0755, alice);
        byte[] def = acl(Acl.USER_OBJ, 7, -1, Acl.USER, 7, 4321, Acl.GROUP_OBJ, 5, -1, Acl.MASK, 7, -1, Acl.OTHER, 5, -1);
        fs.setxattr("/d", Acl.DEFAULT, def, 0);
        Caller strict = new Caller(1000, 1000, 077);
        fs.release(fs.create("/d/f", 0666, strict).id());
        // posix_acl_create: the umask is ignored; owner 7&6, mask 7&6 (shown as group), other 5&6.
        assertEquals(0664, fs.getattr("/d/f").mode() & 0777);
        Acl fileAcl = Acl.decode(fs.getxattr("/d/f", Acl.ACCESS));
        assertEquals(new Acl.AclEntry(Acl.USER, 7, 4321), fileAcl.entries().get(1));
        assertEquals(FsError.NO_ATTRIBUTE, errorOf(() -> fs.getxattr("/d/f", Acl.DEFAULT)), "files get no default ACL");
        fs.mkdir("/d/sub", 0777, strict);
        assertEquals(0775, fs.getattr("/d/sub").mode() & 0777);
        assertArrayEquals(def, fs.getxattr("/d/sub", Acl.DEFAULT), "directories inherit the default ACL");
        // Without a default ACL the umask applies.
        fs.release(fs.create("/g", 0666, strict).id());
        assertEquals(0600, fs.getattr("/g").mode() & 0777);
        fs.mkdir("/e", 0777, alice);
        assertEquals(0755, fs.getattr("/e").mode() & 0777);
    }

    @Test
    void specialFilesKeepTheirTypeAndDevice() {
        fs.mknod("/fifo", Inode.S_IFIFO | 0666, 0, alice);
        fs.mknod("/sock", Inode.S_IFSOCK | 0600, 0, alice);
        fs.mknod("/null", Inode.S_IFCHR | 0666, (1L << 8) | 3, Caller.ROOT);
        fs.mknod("/blk", Inode.S_IFBLK | 0660, (7L << 8) | 1, Caller.ROOT);
        fs.mknod("/plain", 0644, 0, alice);
        reopen();
        assertEquals(Inode.S_IFIFO | 0644, fs.getattr("/fifo").mode(), "the umask applies");
        assertEquals(Inode.S_IFSOCK, fs.getattr("/sock").typeBits());
        assertEquals((1L << 8) | 3, fs.getattr("/null").rdev());
        assertEquals(Inode.S_IFBLK, fs.getattr("/blk").typeBits());
        assertEquals((7L << 8) | 1, fs.getattr("/blk").rdev());
        assertEquals(Inode.S_IFREG, fs.getattr("/plain").typeBits());
        assertEquals(0, fs.getattr("/fifo").rdev());
        List<Integer> types = fs.readdir("/").stream().map(DirEntry::typeBits).toList();
        assertTrue(types.contains(Inode.S_IFIFO) && types.contains(Inode.S_IFCHR), "listings carry the type");
        assertEquals(FsError.INVALID, errorOf(() -> fs.mknod("/bad", 0170000 | 0644, 0, alice)));
        assertEquals(FsError.INVALID, errorOf(() -> fs.truncate("/fifo", 0)));
    }

    @Test
    void fallocateAllocatesKeepsSizeAndPunchesHoles() {
        Inode f = fs.create("/f", 0644, alice);
        byte[] data = new byte[5 * 4096];
        java.util.Arrays.fill(data, (byte) 7);
        fs.write(f.id(), 0, MemorySegment.ofArray(data));
        long freeBefore = pool.info().freeBytes();
        fs.fallocate(f.id(), 0, 20480, 8192);
        assertEquals(28672, fs.getattr(f.id()).sizeBytes(), "mode 0 grows the size");
        assertEquals(7 * 4096, fs.getattr(f.id()).allocatedBytes());
        assertEquals(freeBefore - 8192, pool.info().freeBytes());
        fs.fallocate(f.id(), FileSystem.FALLOC_FL_KEEP_SIZE, 28672, 4096 * 3);
        assertEquals(28672, fs.getattr(f.id()).sizeBytes(), "KEEP_SIZE does not");
        assertEquals(10 * 4096, fs.getattr(f.id()).allocatedBytes());
        // Punch from the middle of block 0 to the middle of block 3: blocks 1 and 2 are released,
        // the edges are zeroed in range only.
        fs.fallocate(f.id(), FileSystem.FALLOC_FL_PUNCH_HOLE | FileSystem.FALLOC_FL_KEEP_SIZE, 100, 3 * 4096);
        assertEquals(8 * 4096, fs.getattr(f.id()).allocatedBytes());
        assertEquals(28672, fs.getattr(f.id()).sizeBytes());
        byte[] back = new byte[28672];
        assertEquals(28672, fs.read(f.id(), 0, MemorySegment.ofArray(back)));
        for (int i = 0; i < back.length; i++) {
            int expected = i < 100 || (i >= 100 + 3 * 4096 && i < data.length) ? 7 : 0;
            assertEquals(expected, back[i], "byte " + i);
        }
        assertEquals(FsError.NOT_SUPPORTED, errorOf(() -> fs.fallocate(f.id(), FileSystem.FALLOC_FL_PUNCH_HOLE, 0, 4096)));
        assertEquals(FsError.NOT_SUPPORTED, errorOf(() -> fs.fallocate(f.id(), 0x08, 0, 4096)), "collapse range");
        assertEquals(FsError.INVALID, errorOf(() -> fs.fallocate(f.id(), 0, 0, 0)));
        fs.release(f.id());
        reopen();
        Inode g = fs.open("/f");
        assertEquals(8 * 4096, g.allocatedBytes(), "the hole survives a remount (journal replay of UnmapRange)");
        byte[] again = new byte[28672];
        fs.read(g.id(), 0, MemorySegment.ofArray(again));
        assertArrayEquals(back, again);
        fs.release(g.id());
    }

    @Test
    void zeroRangeZeroesWithRealBlocksAndNamesNeedASuffix() {
        Inode f = fs.create("/z", 0644, alice);
        byte[] data = new byte[4 * 4096];
        java.util.Arrays.fill(data, (byte) 9);
        fs.write(f.id(), 0, MemorySegment.ofArray(data));
        fs.fallocate(f.id(), FileSystem.FALLOC_FL_ZERO_RANGE | FileSystem.FALLOC_FL_KEEP_SIZE, 10, 4096 * 2);
        byte[] back = new byte[data.length];
        fs.read(f.id(), 0, MemorySegment.ofArray(back));
        for (int i = 0; i < back.length; i++) {
            assertEquals(i >= 10 && i < 10 + 8192 ? 0 : 9, back[i], "byte " + i);
        }
        assertEquals(4 * 4096, fs.getattr(f.id()).allocatedBytes(), "zeroed, still allocated");
        fs.fallocate(f.id(), FileSystem.FALLOC_FL_ZERO_RANGE, 4 * 4096, 4096);
        assertEquals(5 * 4096, fs.getattr(f.id()).sizeBytes(), "without KEEP_SIZE the size grows");
        assertEquals(FsError.NOT_SUPPORTED, errorOf(() -> fs.fallocate(f.id(),
                FileSystem.FALLOC_FL_ZERO_RANGE | FileSystem.FALLOC_FL_PUNCH_HOLE | FileSystem.FALLOC_FL_KEEP_SIZE, 0, 1)));
        fs.release(f.id());
        assertEquals(FsError.INVALID, errorOf(() -> fs.setxattr("/z", "user.", utf8("x"), 0)));
        assertEquals(FsError.INVALID, errorOf(() -> fs.setxattr("/z", "trusted.", utf8("x"), 0)));
        assertEquals(FsError.NOT_SUPPORTED, errorOf(() -> fs.setxattr("/z", "other.x", utf8("x"), 0)));
    }

    @Test
    void aWriteByAnOutsiderClearsSetgidButNotByAMember() {
        Inode f = fs.create("/sg", 02664, Caller.ROOT);
        fs.chown("/sg", 0, 500);
        fs.chmod("/sg", 02664);
        fs.write(f.id(), 0, MemorySegment.ofArray(utf8("member")), new Caller(1000, 1000), gid -> gid == 500);
        assertEquals(02664, fs.getattr("/sg").mode() & 07777, "a member of the file's group keeps setgid");
        fs.write(f.id(), 0, MemorySegment.ofArray(utf8("root")), Caller.ROOT, gid -> false);
        assertEquals(02664, fs.getattr("/sg").mode() & 07777, "root keeps it");
        fs.write(f.id(), 0, MemorySegment.ofArray(utf8("other")), new Caller(1000, 1000), gid -> false);
        assertEquals(0664, fs.getattr("/sg").mode() & 07777, "an outsider's write clears it");
        fs.release(f.id());
    }

    @Test
    void utimeNowIsOneInstant() {
        fs.release(fs.create("/t", 0644, alice).id());
        Timestamp now = Timestamp.now();
        fs.utimens("/t", now, now, now);
        Inode i = fs.getattr("/t");
        assertEquals(i.atime(), i.mtime());
        assertEquals(i.mtime(), i.ctime());
    }

    @Test
    void atimeFollowsRelatime() throws Exception {
        Inode f = fs.create("/f", 0644, alice);
        fs.write(f.id(), 0, MemorySegment.ofArray(utf8("x")));
        Inode written = fs.getattr(f.id());
        Thread.sleep(5);
        fs.read(f.id(), 0, MemorySegment.ofArray(new byte[1]));
        Inode read1 = fs.getattr(f.id());
        assertTrue(read1.atime().compareTo(written.mtime()) > 0, "the first read after a write updates atime");
        Thread.sleep(5);
        fs.read(f.id(), 0, MemorySegment.ofArray(new byte[1]));
        assertEquals(read1.atime(), fs.getattr(f.id()).atime(), "a second read does not (relatime)");
        assertFalse(read1.mtime().compareTo(written.mtime()) != 0, "reads leave mtime alone");
        fs.release(f.id());
    }
}

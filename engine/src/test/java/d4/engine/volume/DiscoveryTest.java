package d4.engine.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.D4Exception;
import d4.engine.Limits;
import d4.engine.Pool;
import d4.engine.VolumeSpec;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Discovery over a fake /sys/class/block whose "devices" are volume files (the real scan, on loop
 * devices, is DiscoveryIT), and the signature checks d4 does without blkid.
 */
class DiscoveryTest {
    private static final long SIZE = 64L << 20;

    @TempDir
    Path dir;

    /** A fake sysfs entry NAME whose device node is {@code node} (a file standing in for a device). */
    private Path device(String name, Path node, long bytes) throws IOException {
        Path sys = Files.createDirectories(dir.resolve("sys").resolve(name));
        Files.writeString(sys.resolve("size"), (bytes / 512) + "\n");
        Files.writeString(sys.resolve("uevent"), "MAJOR=7\nMINOR=0\nDEVNAME=" + name + "\nDEVTYPE=disk\n");
        Path dev = Files.createDirectories(dir.resolve("dev")).resolve(name);
        if (node != null) {
            Files.move(node, dev);
        }
        return dev;
    }

    private Discovery.Scan scan() {
        return Discovery.scan(dir.resolve("sys"), dir.resolve("dev"));
    }

    @Test
    void findsPoolsAndTheirMissingMembers() throws IOException {
        Path a0 = dir.resolve("a0");
        Path a1 = dir.resolve("a1");
        Path a2 = dir.resolve("a2");
        UUID a = Pool.format("tank", List.of(new VolumeSpec(a0, SIZE), new VolumeSpec(a1, SIZE), new VolumeSpec(a2, SIZE)));
        Path b0 = dir.resolve("b0");
        UUID b = Pool.format("solo", List.of(new VolumeSpec(b0, SIZE)));
        device("loop0", a2, SIZE);
        device("loop1", a0, SIZE);
        device("loop2", b0, SIZE);
        device("loop3", null, 0); // unattached: size 0, skipped
        device("ram0", null, SIZE); // RAM disks are skipped
        Path empty = device("loop4", Files.write(dir.resolve("zeros"), new byte[0]), SIZE);
        try (RandomAccessFile f = new RandomAccessFile(empty.toFile(), "rw")) {
            f.setLength(SIZE);
        }

        Discovery.Scan scan = scan();
        assertEquals(4, scan.devicesScanned(), scan.toString()); // loop0, loop1, loop2 and the empty loop4
        assertEquals(2, scan.pools().size(), scan.toString());
        Discovery.FoundPool solo = scan.named("solo").getFirst();
        assertTrue(solo.complete());
        assertEquals(b, solo.uuid());
        assertEquals(List.of(dir.resolve("dev/loop2")), solo.devices());
        Discovery.FoundPool tank = scan.named(a.toString()).getFirst();
        assertEquals("tank", tank.name());
        assertEquals(3, tank.volumeCount());
        assertFalse(tank.complete());
        assertEquals(List.of(1), tank.missing());
        assertEquals(List.of(0, 2), tank.members().stream().map(Discovery.Member::index).toList());
        assertEquals(dir.resolve("dev/loop1"), tank.members().getFirst().device());
        assertEquals("volume 0 on " + dir.resolve("dev/loop1") + ", volume 2 on " + dir.resolve("dev/loop0"),
                tank.describeMembers());
        assertEquals(Optional.empty(), scan.member(a, 1));
        assertEquals(dir.resolve("dev/loop0"), scan.member(a, 2).orElseThrow().device());
    }

    @Test
    void theCopyServesWhenThePrimaryIsGoneAndDuplicatesAreConflicts() throws IOException {
        Path v = dir.resolve("v");
        UUID uuid = Pool.format("p", List.of(new VolumeSpec(v, SIZE)));
        Path twin = dir.resolve("twin");
        Files.copy(v, twin);
        try (RandomAccessFile f = new RandomAccessFile(v.toFile(), "rw")) {
            f.write(new byte[Limits.BLOCK_BYTES]); // wipe the primary superblock
        }
        Discovery.Read read = Discovery.readSuperblock(v).orElseThrow();
        assertTrue(read.fromCopy());
        assertEquals(uuid, read.superblock().poolUuid());
        device("sda", v, SIZE);
        device("sdb", twin, SIZE);
        Discovery.FoundPool p = scan().pools().getFirst();
        assertFalse(p.complete());
        assertEquals(List.of(), p.missing());
        assertTrue(p.conflicts().getFirst().contains("volume 0 is on several devices"), p.conflicts().toString());
        assertTrue(p.members().stream().anyMatch(Discovery.Member::fromCopy));
    }

    @Test
    void aDamagedVolumeIsAProblemNotAPool() throws IOException {
        Path v = dir.resolve("v");
        Pool.format("p", List.of(new VolumeSpec(v, SIZE)));
        try (RandomAccessFile f = new RandomAccessFile(v.toFile(), "rw")) {
            f.seek(100);
            f.write(0x5a); // primary fails its CRC
            f.seek(SIZE - Limits.BLOCK_BYTES + 100);
            f.write(0x5a); // and so does the copy
        }
        assertThrows(D4Exception.Corruption.class, () -> Discovery.readSuperblock(v));
        device("vdb", v, SIZE);
        Discovery.Scan scan = scan();
        assertEquals(List.of(), scan.pools());
        assertEquals(1, scan.problems().size());
        assertTrue(scan.problems().getFirst().contains("CRC32C"), scan.problems().toString());
    }

    @Test
    void signaturesD4RecognisesWithoutBlkid() {
        assertEquals(Optional.empty(), BlockDevices.signatureIn(new byte[BlockDevices.HEAD_BYTES]));
        assertSignature("ext2/ext3/ext4", 0x438, new byte[] {0x53, (byte) 0xEF});
        assertSignature("xfs", 0, "XFSB".getBytes(StandardCharsets.US_ASCII));
        assertSignature("btrfs", 0x10040, "_BHRfS_M".getBytes(StandardCharsets.US_ASCII));
        assertSignature("swap", 4086, "SWAPSPACE2".getBytes(StandardCharsets.US_ASCII));
        assertSignature("GPT", 512, "EFI PART".getBytes(StandardCharsets.US_ASCII));
        assertSignature("LVM2", 512, "LABELONE".getBytes(StandardCharsets.US_ASCII));
        assertSignature("md RAID", 4096, new byte[] {(byte) 0xfc, 0x4e, 0x2b, (byte) 0xa9});
        assertSignature("LUKS", 0, new byte[] {'L', 'U', 'K', 'S', (byte) 0xba, (byte) 0xbe});
        assertSignature("MBR", 510, new byte[] {0x55, (byte) 0xAA});
        assertSignature("d4 volume", 0, "D4VOLUME".getBytes(StandardCharsets.US_ASCII));
        assertEquals(Optional.empty(), BlockDevices.signatureIn(new byte[100]), "a short read is not a match");
    }

    private static void assertSignature(String expected, int offset, byte[] magic) {
        byte[] head = new byte[BlockDevices.HEAD_BYTES];
        System.arraycopy(magic, 0, head, offset, magic.length);
        String found = BlockDevices.signatureIn(head).orElse("nothing");
        assertTrue(found.contains(expected), expected + ": " + found);
    }

    @Test
    void blkidOutputAndMountinfo() {
        assertEquals("ext4 file system (blkid: UUID=1234 BLOCK_SIZE=4096 TYPE=ext4 USAGE=filesystem)",
                BlockDevices.describeBlkid("DEVNAME=/dev/loop0\nUUID=1234\nBLOCK_SIZE=4096\nTYPE=ext4\nUSAGE=filesystem\n"));
        assertEquals("gpt partition table (blkid: PTUUID=ab PTTYPE=gpt)",
                BlockDevices.describeBlkid("DEVNAME=/dev/sdb\nPTUUID=ab\nPTTYPE=gpt\n"));
        MountInfo.Entry e = MountInfo.parse("36 35 98:0 / /mnt/with\\040space rw,noatime shared:1 - ext4 /dev/sdb1 rw");
        assertEquals(new MountInfo.Entry("98:0", "/mnt/with space", "ext4", "/dev/sdb1"), e);
        assertEquals(null, MountInfo.parse("garbage"));
        BlockDevices.Device d = new BlockDevices.Device(Path.of("/dev/sdb"), "sdb", 98, 0, SIZE, 512, Path.of("/sys/x"));
        assertEquals(List.of("/a", "/b"), BlockDevices.mountedAt(List.of(
                "1 0 98:0 / /a rw - ext4 /dev/whatever rw",
                "2 0 98:1 / /other rw - ext4 /dev/whatever rw",
                "3 0 98:0 / /b rw shared:2 master:3 - xfs /dev/whatever rw"), d));
    }
}

package d4.engine.volume;

import d4.engine.D4Exception;
import d4.engine.Limits;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Block devices as d4 volumes: what a device is (size, logical block size, from sysfs), whether it
 * is in use (mounted, held by device-mapper/md, swap, claimed, a running d4), whether it holds a
 * file system or partition table, and writing a new volume's first blocks onto it.
 */
public final class BlockDevices {
    private BlockDevices() {}

    private static final int S_IFMT = 0170000;
    private static final int S_IFBLK = 0060000;

    /** A block device as sysfs describes it. {@code sysDir} is /sys/dev/block/MAJOR:MINOR (resolved). */
    public record Device(Path path, String kernelName, int major, int minor, long sizeBytes, int logicalBlockBytes,
            Path sysDir) {
        public String majorMinor() {
            return major + ":" + minor;
        }
    }

    public static boolean isBlockDevice(Path path) {
        try {
            int mode = (Integer) Files.getAttribute(path, "unix:mode");
            return (mode & S_IFMT) == S_IFBLK;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    /** Describes the block device at {@code path} (a /dev node or a symlink to one, such as /dev/disk/by-id/...). */
    public static Device describe(Path path) {
        if (!isBlockDevice(path)) {
            throw new D4Exception.InvalidArgument(path + " is not a block device");
        }
        long rdev;
        try {
            rdev = (Long) Files.getAttribute(path, "unix:rdev");
        } catch (IOException e) {
            throw new D4Exception.PoolUnavailable("cannot stat " + path + ": " + e.getMessage(), e);
        }
        int major = (int) (((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL));
        int minor = (int) ((rdev & 0xff) | ((rdev >>> 12) & ~0xffL));
        Path sys = Path.of("/sys/dev/block", major + ":" + minor);
        try {
            sys = sys.toRealPath();
        } catch (IOException e) {
            throw new D4Exception.PoolUnavailable("block device " + path + " (" + major + ":" + minor + ") is not in /sys/dev/block: "
                    + e.getMessage(), e);
        }
        long size;
        try {
            size = Long.parseLong(Files.readString(sys.resolve("size")).trim()) * 512; // sysfs counts 512-byte sectors
        } catch (IOException | NumberFormatException e) {
            size = channelSize(path);
        }
        Path queue = Files.isDirectory(sys.resolve("queue")) ? sys.resolve("queue") : sys.getParent().resolve("queue"); // a partition's is its disk's
        int logical = 512;
        try {
            logical = Integer.parseInt(Files.readString(queue.resolve("logical_block_size")).trim());
        } catch (IOException | NumberFormatException e) {
            // 512 is what the kernel assumes without a queue
        }
        return new Device(path, sys.getFileName().toString(), major, minor, size, logical, sys);
    }

    private static long channelSize(Path path) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            return ch.size(); // the JDK asks the kernel (BLKGETSIZE64) for a block device
        } catch (IOException e) {
            throw new D4Exception.PoolUnavailable("cannot read the size of " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Why {@code d} cannot be given to d4 now: mounted (itself or a partition of it), held by another
     * device (device-mapper, md, LVM, a partition), active swap, claimed exclusively by the kernel,
     * or locked by a running d4. Empty when it is free.
     */
    public static List<String> usage(Device d) {
        List<String> out = new ArrayList<>();
        List<Device> parts = new ArrayList<>(List.of(d));
        parts.addAll(partitions(d));
        List<String> mountinfo = readLines(Path.of("/proc/self/mountinfo"));
        List<String> swaps = readLines(Path.of("/proc/swaps"));
        for (Device p : parts) {
            String what = p == d ? d.path().toString() : "its partition /dev/" + p.kernelName();
            for (String target : mountedAt(mountinfo, p)) {
                out.add(what + " is mounted at " + target);
            }
            for (String holder : list(p.sysDir().resolve("holders"))) {
                out.add(what + " is in use by /dev/" + holder + " (device-mapper, md or LVM)");
            }
            for (String swap : swaps.stream().skip(1).map(l -> l.split("\\s+")[0]).toList()) {
                if (sameDevice(Path.of(MountInfo.unescape(swap)), p)) {
                    out.add(what + " is active swap");
                }
            }
        }
        if (out.isEmpty()) {
            int errno = openExclusive(d.path());
            if (errno == EBUSY) {
                out.add(d.path() + " is claimed by the kernel (open with O_EXCL: busy)");
            }
        }
        if (out.isEmpty() && lockedByAnother(d.path())) {
            out.add(d.path() + " is locked by another process: a running d4 serves it");
        }
        return out;
    }

    /** The partitions of a whole disk (empty for a partition or a disk without any). */
    static List<Device> partitions(Device disk) {
        List<Device> out = new ArrayList<>();
        for (String name : list(disk.sysDir())) {
            Path dir = disk.sysDir().resolve(name);
            if (Files.exists(dir.resolve("partition"))) {
                try {
                    String[] mm = Files.readString(dir.resolve("dev")).trim().split(":");
                    out.add(new Device(Path.of("/dev", name), name, Integer.parseInt(mm[0]), Integer.parseInt(mm[1]), 0,
                            disk.logicalBlockBytes(), dir));
                } catch (IOException | RuntimeException e) {
                    // a partition that vanished meanwhile
                }
            }
        }
        return out;
    }

    /** Mount points whose source is {@code d}: by MAJOR:MINOR, or by a /dev source path (btrfs reports another st_dev). */
    static List<String> mountedAt(List<String> mountinfo, Device d) {
        List<String> out = new ArrayList<>();
        for (String line : mountinfo) {
            MountInfo.Entry e = MountInfo.parse(line);
            if (e == null) {
                continue;
            }
            boolean same = e.majorMinor().equals(d.majorMinor())
                    || (e.source().startsWith("/dev/") && sameDevice(Path.of(e.source()), d));
            if (same) {
                out.add(e.mountPoint());
            }
        }
        return out;
    }

    private static boolean sameDevice(Path node, Device d) {
        try {
            if (!isBlockDevice(node)) {
                return false;
            }
            long rdev = (Long) Files.getAttribute(node, "unix:rdev");
            int major = (int) (((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL));
            int minor = (int) ((rdev & 0xff) | ((rdev >>> 12) & ~0xffL));
            return major == d.major() && minor == d.minor();
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static boolean lockedByAnother(Path path) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                return true; // this process holds it
            }
            if (lock == null) {
                return true;
            }
            lock.release();
            return false;
        } catch (IOException e) {
            return false; // cannot open read-write: the format itself will say why
        }
    }

    /**
     * The file system, partition table or other signature found on the device (as "ext4 file
     * system"), or empty. A d4 volume counts: its pool is named. Uses blkid -p when installed (it
     * knows every format), and d4's own checks of the common magic numbers otherwise.
     */
    public static Optional<String> signature(Path device) {
        byte[] head;
        try (FileChannel ch = FileChannel.open(device, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(HEAD_BYTES, ch.size()));
            while (buf.hasRemaining() && ch.read(buf, buf.position()) >= 0) {
                // read the whole head
            }
            head = buf.array();
        } catch (IOException e) {
            throw new D4Exception.PoolUnavailable("cannot read " + device + ": " + e.getMessage(), e);
        }
        Optional<Superblock> d4;
        try {
            d4 = Discovery.readSuperblock(device).map(Discovery.Read::superblock);
        } catch (D4Exception.Corruption e) {
            return Optional.of("a damaged d4 volume (" + e.getMessage() + ")");
        }
        if (d4.isPresent()) {
            Superblock sb = d4.get();
            return Optional.of("a d4 volume (volume " + sb.volumeIndex() + " of pool " + sb.poolName() + ", " + sb.poolUuid() + ")");
        }
        Optional<Optional<String>> blkid = blkid(device);
        if (blkid.isPresent()) {
            return blkid.get();
        }
        return signatureIn(head);
    }

    /** Bytes read for the magic checks: btrfs's superblock lies at 64 KiB. */
    static final int HEAD_BYTES = 128 * 1024;

    /** blkid -p: empty when blkid is not installed or failed; else what it found (or nothing). */
    static Optional<Optional<String>> blkid(Path device) {
        Path tool = Stream.of("/usr/sbin/blkid", "/sbin/blkid", "/usr/bin/blkid").map(Path::of).filter(Files::isExecutable)
                .findFirst().orElse(null);
        if (tool == null) {
            return Optional.empty();
        }
        try {
            Process p = new ProcessBuilder(tool.toString(), "-p", "-o", "export", device.toString()).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return Optional.empty();
            }
            return switch (p.exitValue()) {
                case 0 -> Optional.of(Optional.of(describeBlkid(out)));
                case 2 -> Optional.of(Optional.empty()); // nothing found
                case 8 -> Optional.of(Optional.of("several conflicting signatures (blkid -p: ambivalent result)"));
                default -> Optional.empty();
            };
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /** "ext4 file system (blkid: TYPE=ext4 USAGE=filesystem ...)" from blkid -o export output. */
    static String describeBlkid(String export) {
        String type = null;
        String ptType = null;
        String usage = null;
        List<String> fields = new ArrayList<>();
        for (String line : export.split("\n")) {
            if (line.isBlank() || line.startsWith("DEVNAME=")) {
                continue;
            }
            fields.add(line.trim());
            if (line.startsWith("TYPE=")) {
                type = line.substring(5).trim();
            } else if (line.startsWith("PTTYPE=")) {
                ptType = line.substring(7).trim();
            } else if (line.startsWith("USAGE=")) {
                usage = line.substring(6).trim();
            }
        }
        String what = type != null ? type + (usage == null ? "" : " " + (usage.equals("filesystem") ? "file system" : usage))
                : ptType != null ? ptType + " partition table" : "a signature";
        return what + " (blkid: " + String.join(" ", fields) + ")";
    }

    /** d4's own checks of common signatures in the first {@link #HEAD_BYTES} of a device. */
    static Optional<String> signatureIn(byte[] head) {
        if (at(head, 0, "D4VOLUME")) {
            return Optional.of("a d4 volume (damaged superblock)");
        }
        if (u16le(head, 0x438) == 0xEF53) {
            return Optional.of("ext2/ext3/ext4 file system");
        }
        if (at(head, 0, "XFSB")) {
            return Optional.of("xfs file system");
        }
        if (at(head, 0x10040, "_BHRfS_M")) {
            return Optional.of("btrfs file system");
        }
        for (int page : new int[] {4096, 8192, 16384, 65536}) {
            if (at(head, page - 10, "SWAPSPACE2") || at(head, page - 10, "SWAP-SPACE")) {
                return Optional.of("swap space");
            }
        }
        if (at(head, 0, "LUKS\u00ba\u00be")) {
            return Optional.of("LUKS encrypted volume");
        }
        if (at(head, 512, "LABELONE") || at(head, 0, "LABELONE")) {
            return Optional.of("LVM2 physical volume");
        }
        if (u32le(head, 0) == 0xa92b4efcL || u32le(head, 4096) == 0xa92b4efcL) {
            return Optional.of("md RAID member");
        }
        if (at(head, 512, "EFI PART") || at(head, 4096, "EFI PART")) {
            return Optional.of("GPT partition table");
        }
        if (at(head, 0x8001, "CD001")) {
            return Optional.of("ISO 9660 file system");
        }
        if (at(head, 0, "hsqs")) {
            return Optional.of("squashfs file system");
        }
        if (u16le(head, 510) == 0xAA55) {
            return Optional.of("DOS/MBR partition table or boot sector (e.g. FAT)");
        }
        return Optional.empty();
    }

    private static boolean at(byte[] b, int offset, String magic) {
        byte[] m = magic.getBytes(StandardCharsets.ISO_8859_1);
        return offset + m.length <= b.length && Arrays.equals(b, offset, offset + m.length, m, 0, m.length);
    }

    private static int u16le(byte[] b, int offset) {
        return offset + 2 <= b.length ? ByteBuffer.wrap(b, offset, 2).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff : -1;
    }

    private static long u32le(byte[] b, int offset) {
        return offset + 4 <= b.length ? ByteBuffer.wrap(b, offset, 4).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xffffffffL : -1;
    }

    /**
     * Checks that a device can hold a d4 volume of {@code sizeBytes}: not smaller, a logical block
     * size that divides d4's block size (O_DIRECT needs it). Returns the device.
     */
    public static Device checkFits(Path path, long sizeBytes) {
        Device d = describe(path);
        if (Limits.BLOCK_BYTES % d.logicalBlockBytes() != 0) {
            throw new D4Exception.InvalidArgument(path + " has a logical block size of " + d.logicalBlockBytes()
                    + " bytes; d4 needs one that divides its block size of " + Limits.BLOCK_BYTES + " bytes");
        }
        if (sizeBytes > d.sizeBytes()) {
            throw new D4Exception.InvalidArgument("volume " + path + " of " + sizeBytes + " bytes does not fit the device ("
                    + d.sizeBytes() + " bytes)");
        }
        return d;
    }

    /**
     * Writes a new volume onto a block device, as Pool.format creates a volume file: zeroes
     * everything before the data region (superblock, both meta slots, the journal: a device may hold
     * an earlier pool's, whose slots and records must not pass for this pool's), then writes the
     * superblock into the first block and its copy into the last, and flushes.
     */
    public static void initialize(Path device, Superblock sb) {
        checkFits(device, sb.sizeBytes());
        try (FileChannel ch = FileChannel.open(device, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
            long end = sb.dataStartBlock() * Limits.BLOCK_BYTES;
            for (long pos = 0; pos < end; ) {
                zeros.clear().limit((int) Math.min(zeros.capacity(), end - pos));
                pos += ch.write(zeros, pos);
            }
            byte[] block = new byte[Limits.BLOCK_BYTES];
            System.arraycopy(sb.encode(), 0, block, 0, Superblock.ENCODED_BYTES);
            writeFully(ch, block, 0);
            writeFully(ch, block, sb.superblockCopyBlock() * Limits.BLOCK_BYTES);
            ch.force(true);
        } catch (IOException e) {
            throw new D4Exception.PoolUnavailable("cannot write volume " + device + ": " + e.getMessage(), e);
        }
    }

    /**
     * Undoes {@link #initialize} after a failed format: zeroes the first block and the last (both
     * superblocks), so the device no longer looks like a volume. Never removes the device node.
     */
    public static void wipe(Path device) {
        try (FileChannel ch = FileChannel.open(device, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            byte[] zero = new byte[Limits.BLOCK_BYTES];
            writeFully(ch, zero, 0);
            long lastBlock = ch.size() / Limits.BLOCK_BYTES - 1;
            if (lastBlock > 0) {
                writeFully(ch, zero, lastBlock * Limits.BLOCK_BYTES);
            }
            ch.force(true);
        } catch (IOException e) {
            throw new D4Exception.PoolUnavailable("cannot wipe " + device + ": " + e.getMessage(), e);
        }
    }

    private static void writeFully(FileChannel ch, byte[] b, long position) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(b);
        while (buf.hasRemaining()) {
            ch.write(buf, position + buf.position());
        }
    }

    private static List<String> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static List<String> readLines(Path p) {
        try {
            return Files.readAllLines(p);
        } catch (IOException e) {
            return List.of();
        }
    }

    // open(2) with O_EXCL: the kernel's own "is this device in use" (mounted, held by dm/md) check.

    private static final int O_RDONLY = 0;
    private static final int O_EXCL = 0200;
    private static final int O_CLOEXEC = 02000000;
    static final int EBUSY = 16;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle OPEN = LINKER.downcallHandle(LINKER.defaultLookup().find("open").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
            Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = LINKER.downcallHandle(LINKER.defaultLookup().find("close").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    /** Opens the device with O_EXCL and closes it: 0 when that worked, else the errno (EBUSY: in use). */
    static int openExclusive(Path device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(device.toString()), O_RDONLY | O_EXCL | O_CLOEXEC);
            if (fd < 0) {
                return (int) ERRNO.get(state, 0L);
            }
            int ignored = (int) CLOSE.invokeExact(fd);
            return 0;
        } catch (Throwable t) {
            return -1; // no verdict: the other checks stand
        }
    }
}

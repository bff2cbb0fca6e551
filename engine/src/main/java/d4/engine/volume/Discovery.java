package d4.engine.volume;

import d4.engine.D4Exception;
import d4.engine.Limits;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Finds d4 volumes on block devices by their superblocks, as {@code mdadm --examine --scan} finds
 * RAID members: every device in /sys/class/block (but RAM disks and devices too small to be a
 * volume) is read at its first block and, when that holds no valid superblock, at its last block
 * (the copy). The volumes found are grouped into pools by pool UUID.
 */
public final class Discovery {
    private Discovery() {}

    /** A superblock read from a device; {@code fromCopy}: the primary was missing or damaged and the copy served. */
    public record Read(Superblock superblock, boolean fromCopy) {}

    /** A volume found on a device. */
    public record Member(Path device, int index, UUID volumeUuid, long sizeBytes, boolean fromCopy) {}

    /**
     * A pool as the devices show it: its members in index order, the indexes of members not found,
     * and conflicts (the same index on two devices, members that disagree on the pool's size).
     */
    public record FoundPool(String name, UUID uuid, int volumeCount, List<Member> members, List<Integer> missing,
            List<String> conflicts) {
        public FoundPool {
            members = List.copyOf(members);
            missing = List.copyOf(missing);
            conflicts = List.copyOf(conflicts);
        }

        public boolean complete() {
            return missing.isEmpty() && conflicts.isEmpty();
        }

        /** The devices in index order (only meaningful when complete). */
        public List<Path> devices() {
            return members.stream().map(Member::device).toList();
        }

        /** "volume 0 on /dev/sdb, volume 1 on /dev/sdc" */
        public String describeMembers() {
            return String.join(", ", members.stream().map(m -> "volume " + m.index() + " on " + m.device()).toList());
        }
    }

    /**
     * What a scan found: the pools, how many devices were read, and what could not be read (with
     * the reason: permission, I/O error, a damaged superblock).
     */
    public record Scan(List<FoundPool> pools, int devicesScanned, List<String> problems) {
        public Scan {
            pools = List.copyOf(pools);
            problems = List.copyOf(problems);
        }

        /** The pools called {@code nameOrUuid}: by name, or by UUID. */
        public List<FoundPool> named(String nameOrUuid) {
            return pools.stream().filter(p -> p.name().equals(nameOrUuid) || p.uuid().toString().equalsIgnoreCase(nameOrUuid))
                    .toList();
        }

        /** The member {@code index} of pool {@code uuid}, if a device holds it (and only one does). */
        public Optional<Member> member(UUID uuid, int index) {
            return pools.stream().filter(p -> p.uuid().equals(uuid)).findFirst()
                    .flatMap(p -> {
                        List<Member> ms = p.members().stream().filter(m -> m.index() == index).toList();
                        return ms.size() == 1 ? Optional.of(ms.getFirst()) : Optional.empty();
                    });
        }
    }

    /** Scans every block device of this host. */
    public static Scan scan() {
        return scan(Path.of("/sys/class/block"), Path.of("/dev"));
    }

    static Scan scan(Path sysClassBlock, Path devDir) {
        List<String> problems = new ArrayList<>();
        Map<UUID, List<Member>> membersOf = new LinkedHashMap<>();
        Map<UUID, List<Superblock>> superblocksOf = new LinkedHashMap<>();
        int scanned = 0;
        for (String name : list(sysClassBlock)) {
            if (name.startsWith("ram") || name.startsWith("zram")) {
                continue;
            }
            Path sys = sysClassBlock.resolve(name);
            long size;
            try {
                size = Long.parseLong(Files.readString(sys.resolve("size")).trim()) * 512;
            } catch (IOException | NumberFormatException e) {
                continue;
            }
            if (size < Limits.MIN_VOLUME_BYTES) {
                continue; // unattached loop devices, empty drives, and anything too small to be a volume
            }
            Path device = devDir.resolve(devName(sys, name));
            if (!Files.exists(device)) {
                problems.add(name + ": no device node " + device);
                continue;
            }
            scanned++;
            Optional<Read> read;
            try {
                read = readSuperblock(device);
            } catch (D4Exception e) {
                problems.add(e.getMessage());
                continue;
            }
            if (read.isEmpty()) {
                continue;
            }
            Superblock sb = read.get().superblock();
            membersOf.computeIfAbsent(sb.poolUuid(), u -> new ArrayList<>())
                    .add(new Member(device, sb.volumeIndex(), sb.volumeUuid(), sb.sizeBytes(), read.get().fromCopy()));
            superblocksOf.computeIfAbsent(sb.poolUuid(), u -> new ArrayList<>()).add(sb);
        }
        List<FoundPool> pools = new ArrayList<>();
        for (Map.Entry<UUID, List<Superblock>> e : superblocksOf.entrySet()) {
            List<Superblock> sbs = e.getValue();
            Superblock first = sbs.getFirst();
            List<Member> members = new ArrayList<>(membersOf.get(e.getKey()));
            members.sort(Comparator.comparingInt(Member::index).thenComparing(m -> m.device().toString()));
            List<String> conflicts = new ArrayList<>();
            // Volume 0 holds the pool's member count (d4 volume add and remove change it there first;
            // the other volumes' copies catch up at the next mount).
            Superblock authority = sbs.stream().filter(sb -> sb.volumeIndex() == 0).findFirst().orElse(first);
            int count = authority.volumeCount();
            for (Superblock sb : sbs) {
                if (sb.volumeCount() != count && authority.volumeIndex() != 0) {
                    conflicts.add("volume " + sb.volumeIndex() + " says the pool has " + sb.volumeCount() + " volumes, volume "
                            + first.volumeIndex() + " says " + count);
                }
                if (sb.volumeIndex() >= count && authority.volumeIndex() == 0) {
                    conflicts.add("volume " + sb.volumeIndex() + " is no member any more (volume 0 says the pool has " + count
                            + " volumes): it was removed; wipe it or use it elsewhere");
                }
            }
            TreeMap<Integer, List<Path>> byIndex = new TreeMap<>();
            for (Member m : members) {
                byIndex.computeIfAbsent(m.index(), i -> new ArrayList<>()).add(m.device());
            }
            byIndex.forEach((index, devices) -> {
                if (devices.size() > 1) {
                    conflicts.add("volume " + index + " is on several devices: "
                            + String.join(", ", devices.stream().map(Path::toString).toList())
                            + " (a copied disk, or one device seen twice, e.g. through multipath): detach all but one");
                }
            });
            List<Integer> missing = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                if (!byIndex.containsKey(i)) {
                    missing.add(i);
                }
            }
            pools.add(new FoundPool(first.poolName(), e.getKey(), count, members, missing, conflicts));
        }
        pools.sort(Comparator.comparing(FoundPool::name).thenComparing(p -> p.uuid().toString()));
        return new Scan(pools, scanned, problems);
    }

    /** The device node's name under /dev: DEVNAME from the uevent file (e.g. "mapper/..." is not; "dm-0" is), else the sysfs name. */
    private static String devName(Path sys, String fallback) {
        try {
            for (String line : Files.readAllLines(sys.resolve("uevent"))) {
                if (line.startsWith("DEVNAME=")) {
                    return line.substring(8).trim();
                }
            }
        } catch (IOException e) {
            // the sysfs name is the node's name for every device the kernel names itself
        }
        return fallback;
    }

    /**
     * Reads the superblock of a device (or file): the primary in the first block, else the copy in
     * the last. Empty when neither block holds the d4 magic; a {@link D4Exception} when the magic is
     * there but neither copy is valid (a damaged volume), or the device cannot be read.
     */
    public static Optional<Read> readSuperblock(Path device) {
        try (FileChannel ch = FileChannel.open(device, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < Limits.MIN_VOLUME_BYTES) {
                return Optional.empty();
            }
            byte[] primary = readBlock(ch, 0);
            D4Exception primaryDamage = null;
            if (Superblock.hasMagic(primary)) {
                try {
                    return Optional.of(new Read(Superblock.decode(primary, "superblock of " + device), false));
                } catch (D4Exception e) {
                    primaryDamage = e;
                }
            }
            byte[] copy = readBlock(ch, (size / Limits.BLOCK_BYTES - 1) * Limits.BLOCK_BYTES);
            if (Superblock.hasMagic(copy)) {
                try {
                    return Optional.of(new Read(Superblock.decode(copy, "superblock copy of " + device), true));
                } catch (D4Exception e) {
                    throw new D4Exception.Corruption(device + " looks like a d4 volume, but "
                            + (primaryDamage == null ? "its first block has no superblock" : primaryDamage.getMessage())
                            + " and " + e.getMessage());
                }
            }
            if (primaryDamage != null) {
                throw primaryDamage;
            }
            return Optional.empty();
        } catch (AccessDeniedException e) {
            throw new D4Exception.PoolUnavailable("cannot read " + device + ": permission denied (run as root)", e);
        } catch (IOException e) {
            String why = e instanceof java.nio.file.FileSystemException f && f.getReason() != null ? f.getReason() : e.getMessage();
            throw new D4Exception.PoolUnavailable("cannot read " + device + ": " + why, e);
        }
    }

    private static byte[] readBlock(FileChannel ch, long position) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(Limits.BLOCK_BYTES);
        while (buf.hasRemaining()) {
            if (ch.read(buf, position + buf.position()) < 0) {
                break;
            }
        }
        return buf.array();
    }

    private static List<String> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}

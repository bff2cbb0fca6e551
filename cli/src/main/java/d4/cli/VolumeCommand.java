package d4.cli;

import d4.cli.config.ByteSize;
import d4.cli.config.Config;
import d4.cli.config.Options;
import d4.engine.D4Exception;
import d4.engine.volume.Discovery;
import d4.engine.volume.Superblock;
import d4.engine.volume.VolumeRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "volume",
        mixinStandardHelpOptions = true,
        description = {
            "The volumes of the pools in the data dir's registry (registry.db): which file or device is",
            "which volume of which pool, and whether it is still there. Pools on block devices that the",
            "registry does not list are found by d4 discover."
        },
        subcommands = {VolumeCommand.ListVolumes.class, VolumeCommand.Add.class, VolumeCommand.Remove.class,
            VolumeCommand.Forget.class})
final class VolumeCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "give a subcommand: d4 volume list, add, remove or forget");
    }

    /** What a registered volume path holds now. */
    enum State {
        /** The path holds this volume: the pool's superblock with this index. */
        PRESENT("present"),
        /** Nothing is at the path. */
        MISSING("missing"),
        /** The path holds something else: no d4 superblock, or one of another volume or pool. */
        OTHER("other"),
        /** The path could not be checked: no permission, an I/O error, or a damaged superblock. */
        UNREADABLE("unreadable"),
        /** The pool's superblocks count this volume, but the registry has no record of it. */
        UNREGISTERED("unregistered");

        final String json;

        State(String json) {
            this.json = json;
        }
    }

    /**
     * One volume of a registered pool as found now.
     *
     * @param path the registered path, or null for an unregistered volume
     * @param superblock what the path holds (any pool's), or null
     * @param detail why the state is what it is, for people ("" when present)
     */
    record Member(int index, Path path, State state, Superblock superblock, boolean fromCopy, String detail) {
        /** Whether the path holds a superblock of pool {@code rec}, whatever its index. */
        boolean holdsPool(VolumeRegistry.PoolRecord rec) {
            return superblock != null && superblock.poolUuid().equals(rec.uuid());
        }
    }

    /**
     * A registered pool as found now.
     *
     * @param volumeCount how many volumes the pool's superblocks say it has, or -1 when no
     *     registered path holds one of them
     * @param members every registered volume and every unregistered one the superblocks or the
     *     indexes imply, in index order
     */
    record PoolState(VolumeRegistry.PoolRecord record, int volumeCount, List<Member> members) {
        boolean complete() {
            return volumeCount > 0 && members.size() == volumeCount && members.stream().allMatch(m -> m.state() == State.PRESENT);
        }
    }

    /** Reads what {@code path}, registered as volume {@code index} of {@code rec}, holds now. */
    static Member inspect(VolumeRegistry.PoolRecord rec, int index, Path path) {
        if (!Files.exists(path)) {
            return new Member(index, path, State.MISSING, null, false,
                    path.startsWith("/dev/") ? "no such device" : "the file does not exist");
        }
        Optional<Discovery.Read> read;
        try {
            read = Discovery.readSuperblock(path);
        } catch (D4Exception e) {
            return new Member(index, path, State.UNREADABLE, null, false, e.getMessage());
        }
        if (read.isEmpty()) {
            return new Member(index, path, State.OTHER, null, false, "holds no d4 superblock");
        }
        Superblock sb = read.get().superblock();
        boolean copy = read.get().fromCopy();
        if (sb.poolUuid().equals(rec.uuid()) && sb.volumeIndex() == index) {
            return new Member(index, path, State.PRESENT, sb, copy,
                    copy ? "first superblock missing or damaged: found by its copy" : "");
        }
        String what = sb.poolUuid().equals(rec.uuid()) ? "volume " + sb.volumeIndex() + " of this pool"
                : "volume " + sb.volumeIndex() + " of another pool, " + sb.poolName() + " (" + sb.poolUuid() + ")";
        return new Member(index, path, State.OTHER, sb, copy, "holds " + what);
    }

    /** Every volume of a registered pool, registered or implied, as found now. */
    static PoolState inspect(VolumeRegistry.PoolRecord rec) {
        List<Member> members = new ArrayList<>();
        for (int i = 0; i < rec.volumes().size(); i++) {
            members.add(inspect(rec, rec.indexes().get(i), rec.volumes().get(i)));
        }
        // Volume 0 holds the member count (d4 volume add and remove change it there first).
        int count = members.stream().filter(m -> m.state() == State.PRESENT)
                .sorted(Comparator.comparingInt(Member::index)).map(m -> m.superblock().volumeCount())
                .findFirst().orElse(-1);
        int highest = Math.max(count - 1, rec.indexes().stream().mapToInt(Integer::intValue).max().orElse(-1));
        for (int i = 0; i <= highest; i++) {
            if (rec.volume(i).isEmpty()) {
                members.add(new Member(i, null, State.UNREGISTERED, null, false, count > 0
                        ? "the pool has " + count + " volumes, but the registry has no record of this one"
                        : "the registry has no record of this one"));
            }
        }
        members.sort(Comparator.comparingInt(Member::index));
        return new PoolState(rec, count, List.copyOf(members));
    }

    static String toText(Path registryFile, List<PoolState> pools) {
        StringBuilder b = new StringBuilder();
        for (PoolState p : pools) {
            VolumeRegistry.PoolRecord rec = p.record();
            int count = p.volumeCount() > 0 ? p.volumeCount() : p.members().size();
            b.append("pool ").append(rec.name()).append("  uuid ").append(rec.uuid()).append("  ").append(count)
                    .append(count == 1 ? " volume" : " volumes");
            List<String> absent = p.members().stream().filter(m -> m.state() != State.PRESENT)
                    .map(m -> String.valueOf(m.index())).toList();
            b.append(p.complete() ? "  complete" : absent.isEmpty() ? "  (volume count unknown)"
                    : "  INCOMPLETE: volume" + (absent.size() == 1 ? " " : "s ") + String.join(", ", absent)).append('\n');
            boolean missing = false;
            for (Member m : p.members()) {
                b.append("  volume ").append(m.index()).append("  ");
                switch (m.state()) {
                    case PRESENT -> b.append(m.path()).append("  ").append(ByteSize.format(m.superblock().sizeBytes()))
                            .append("  present  uuid ").append(m.superblock().volumeUuid())
                            .append(m.fromCopy() ? "  (" + m.detail() + ")" : "");
                    case UNREGISTERED -> b.append("not registered: ").append(m.detail());
                    default -> b.append(m.path()).append("  ").append(m.state().json).append(": ").append(m.detail());
                }
                b.append('\n');
                missing |= m.state() == State.MISSING;
            }
            if (missing) {
                b.append("  a volume that is gone for good: d4 volume forget --pool ").append(rec.name())
                        .append(" PATH removes its record\n");
            }
        }
        b.append(pools.isEmpty() ? "no pools" : pools.size() == 1 ? "1 pool" : pools.size() + " pools").append(" in ")
                .append(registryFile).append('\n');
        return b.toString();
    }

    static String toJson(Path registryFile, List<PoolState> pools) {
        List<String> out = new ArrayList<>();
        for (PoolState p : pools) {
            List<String> vols = new ArrayList<>();
            for (Member m : p.members()) {
                Superblock sb = m.superblock();
                vols.add("{\"index\":" + m.index()
                        + ",\"path\":" + (m.path() == null ? "null" : MountStatus.str(m.path().toString()))
                        + ",\"state\":" + MountStatus.str(m.state().json)
                        + ",\"size_bytes\":" + (m.state() == State.PRESENT ? Long.toString(sb.sizeBytes()) : "null")
                        + ",\"volume_uuid\":" + (m.state() == State.PRESENT ? MountStatus.str(sb.volumeUuid().toString()) : "null")
                        + ",\"superblock\":" + (sb == null ? "null" : m.fromCopy() ? "\"copy\"" : "\"primary\"")
                        + ",\"detail\":" + MountStatus.str(m.detail()) + "}");
            }
            out.add("{\"name\":" + MountStatus.str(p.record().name()) + ",\"uuid\":" + MountStatus.str(p.record().uuid().toString())
                    + ",\"volume_count\":" + (p.volumeCount() > 0 ? Integer.toString(p.volumeCount()) : "null")
                    + ",\"complete\":" + p.complete() + ",\"volumes\":[" + String.join(",", vols) + "]}");
        }
        return "{\"registry\":" + MountStatus.str(registryFile.toString()) + ",\"pools\":[" + String.join(",", out) + "]}";
    }

    private static VolumeRegistry.PoolRecord find(VolumeRegistry registry, String pool) {
        return registry.find(pool).orElseThrow(() -> {
            List<String> names = registry.list().stream().map(VolumeRegistry.PoolRecord::name).toList();
            return new CommandFailure("no pool named '" + pool + "' in " + registry.file()
                    + (names.isEmpty() ? " (it lists no pools)" : " (it lists: " + String.join(", ", names) + ")")
                    + ": check --data-dir; pools on block devices are listed by d4 discover");
        });
    }

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = {
                "List the volumes of the registered pools and whether each is still there.",
                "For each volume: index, path, size, volume UUID, and what the path holds now: that volume",
                "(present), nothing (missing), something else (other), or what cannot be read (unreadable);",
                "volumes the pool has but the registry does not list are shown as not registered. Reads the",
                "first block of each volume (its superblock; the copy in the last block when that is damaged);",
                "changes nothing."
            })
    static final class ListVolumes implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--pool", paramLabel = "NAME", description = "Only this pool.")
        String pool;

        @Option(names = "--json", description = "Print one JSON object: {\"registry\":...,\"pools\":[{\"name\",\"uuid\","
                + "\"volume_count\",\"complete\",\"volumes\":[{\"index\",\"path\",\"state\",\"size_bytes\",\"volume_uuid\","
                + "\"superblock\",\"detail\"}]}]}.")
        boolean json;

        @Override
        public Integer call() {
            Config config = ConfigFlags.load(spec);
            Path registryFile;
            List<VolumeRegistry.PoolRecord> records;
            try (VolumeRegistry registry = VolumeRegistry.open(config.path(Options.DATA_DIR))) {
                registryFile = registry.file();
                records = pool == null ? registry.list() : List.of(find(registry, pool));
            }
            List<PoolState> pools = records.stream().map(VolumeCommand::inspect).toList();
            System.out.print(json ? toJson(registryFile, pools) + "\n" : toText(registryFile, pools));
            return 0;
        }
    }

    @Command(
            name = "add",
            mixinStandardHelpOptions = true,
            description = {
                "Add a volume to a pool that is not mounted: a new file (PATH:SIZE, created sparse) or a",
                "block device (DEVICE or DEVICE:SIZE; refused when mounted or in use, and without --force",
                "when it holds a file system or other signature). New data spreads over every volume from",
                "the next mount on. The pool's volume 0 records the new member count last, so a crash",
                "leaves the pool as it was; running the same command again finishes an interrupted add."
            })
    static final class Add implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--pool", paramLabel = "NAME", defaultValue = PoolLocator.DEFAULT_POOL,
                description = "The pool (default: ${DEFAULT-VALUE}).")
        String pool;

        @Option(names = "--force", description = "Overwrite a block device that holds a signature (never one in use).")
        boolean force;

        @Parameters(paramLabel = "PATH:SIZE|DEVICE[:SIZE]", description = "The new volume, as d4 format --volume takes it.")
        String volume;

        @Override
        public Integer call() {
            Config config = ConfigFlags.load(spec);
            Path dataDir = config.path(Options.DATA_DIR);
            d4.engine.VolumeSpec vs = FormatCommand.parseVolume(volume);
            if (d4.engine.volume.BlockDevices.isBlockDevice(vs.path())) {
                FormatCommand.checkDevice(vs, force);
            }
            Path added0 = vs.path().toAbsolutePath().normalize();
            // The registry records the new volume first: a crash after the pool took it then finds it
            // registered; a crash before leaves a record that running the command again completes.
            List<Path> members = PoolLocator.volumes(dataDir, pool).stream()
                    .filter(m -> !m.toAbsolutePath().normalize().equals(added0)).toList();
            boolean recorded = false;
            try (VolumeRegistry registry = VolumeRegistry.open(dataDir)) {
                VolumeRegistry.PoolRecord rec = find(registry, pool);
                if (rec.indexOf(added0) < 0) {
                    registry.registerVolume(pool, members.size(), added0);
                    recorded = true;
                }
            }
            d4.engine.PoolOptions options = new d4.engine.PoolOptions(
                    d4.engine.io.DriveFactory.forEngine(config.string(Options.IO_ENGINE)), 5_000);
            Superblock added;
            try {
                added = d4.engine.Pool.addVolume(members, vs, options);
            } catch (D4Exception | CommandFailure e) {
                if (recorded) {
                    try (VolumeRegistry registry = VolumeRegistry.open(dataDir)) {
                        registry.unregister(pool, added0);
                    }
                }
                throw new CommandFailure("cannot add " + vs.path() + " to pool " + pool + ": " + e.getMessage());
            }
            System.out.println("d4: added " + vs.path() + " (" + ByteSize.format(added.sizeBytes()) + ") to pool " + pool
                    + " as volume " + added.volumeIndex() + "; it has " + (added.volumeIndex() + 1) + " volumes now");
            return 0;
        }
    }

    @Command(
            name = "remove",
            mixinStandardHelpOptions = true,
            description = {
                "Take the last volume out of a pool that is not mounted, moving its data first: every data",
                "block and metadata page on it is copied to the other volumes (with its checksum checked),",
                "then the pool's member count drops, the volume's superblocks are wiped and its registry",
                "record removed. Refused when the others lack the room (nothing changes then). Only the",
                "volume with the highest index can be removed (indexes stay dense); never volume 0.",
                "Progress on a terminal. Interrupted, it loses nothing: run it again."
            })
    static final class Remove implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--pool", paramLabel = "NAME", defaultValue = PoolLocator.DEFAULT_POOL,
                description = "The pool (default: ${DEFAULT-VALUE}).")
        String pool;

        @Parameters(paramLabel = "PATH", description = "The volume to remove (d4 volume list shows them).")
        Path path;

        @Override
        public Integer call() {
            Config config = ConfigFlags.load(spec);
            Path dataDir = config.path(Options.DATA_DIR);
            Path p = path.toAbsolutePath().normalize();
            List<Path> members = PoolLocator.volumes(dataDir, pool);
            d4.engine.PoolOptions options = new d4.engine.PoolOptions(
                    d4.engine.io.DriveFactory.forEngine(config.string(Options.IO_ENGINE)), 5_000);
            ProgressBar bar = ProgressBar.onStderr("d4 volume remove: moving data off " + p, ByteSize::format);
            long[] last = {0, 0};
            try {
                d4.engine.Pool.removeVolume(members, p, options, (done, total) -> {
                    last[0] = done * d4.engine.Limits.BLOCK_BYTES;
                    last[1] = total * d4.engine.Limits.BLOCK_BYTES;
                    bar.update(last[0], last[1]);
                });
            } catch (D4Exception e) {
                bar.clear();
                throw new CommandFailure("cannot remove " + p + " from pool " + pool + ": " + e.getMessage());
            }
            bar.finish(last[0], last[1]);
            try (VolumeRegistry registry = VolumeRegistry.open(dataDir)) {
                if (registry.find(pool).map(r -> r.indexOf(p) >= 0).orElse(false)) {
                    registry.unregister(pool, p);
                }
            }
            System.out.println("d4: removed " + p + " from pool " + pool + " (" + ByteSize.format(last[1])
                    + " moved to the other volumes); it has " + (members.size() - 1) + " volumes now. " + p
                    + " holds no d4 superblock any more" + (d4.engine.volume.BlockDevices.isBlockDevice(p) ? "."
                    : ": delete it when you like."));
            return 0;
        }
    }

    @Command(
            name = "forget",
            mixinStandardHelpOptions = true,
            description = {
                "Remove the registry's record of a volume whose file (or device) is gone.",
                "Refused while PATH still holds a superblock of pool NAME: forgetting a volume moves no data",
                "off it. When the pool has no volume left in the registry, its record goes too, and its name",
                "and paths can be formatted again. A pool cannot be mounted without all of its volumes."
            })
    static final class Forget implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--pool", paramLabel = "NAME", required = true, description = "The pool the volume belongs to.")
        String pool;

        @Parameters(paramLabel = "PATH", description = "The volume's path as the registry has it (d4 volume list).")
        Path path;

        @Override
        public Integer call() {
            Config config = ConfigFlags.load(spec);
            Path p = path.toAbsolutePath().normalize();
            try (VolumeRegistry registry = VolumeRegistry.open(config.path(Options.DATA_DIR))) {
                VolumeRegistry.PoolRecord rec = find(registry, pool);
                int index = rec.indexOf(p);
                if (index < 0) {
                    throw new CommandFailure(p + " is not a volume of pool " + pool + " in " + registry.file()
                            + " (its volumes: " + String.join(", ", rec.volumes().stream().map(Path::toString).toList())
                            + "; d4 volume list --pool " + pool + " shows them)");
                }
                Member m = inspect(rec, index, p);
                if (m.holdsPool(rec)) {
                    throw new CommandFailure("refusing to forget " + p + ": it still holds " + (m.superblock().volumeIndex() == index
                            ? "volume " + index : "volume " + m.superblock().volumeIndex() + " (registered as volume " + index + ")")
                            + " of pool " + pool + " (" + rec.uuid() + "), and forgetting it would not move its data off."
                            + " d4 volume forget only removes the record of a volume that is gone. To delete the whole pool:"
                            + " d4 umount it, delete all of its volume files (d4 volume list --pool " + pool
                            + " names them; wipefs -a for a device), then forget each. To take a volume out of a pool"
                            + " and keep its data: d4 volume remove --pool " + pool + " " + p);
                }
                if (m.state() == State.UNREADABLE) {
                    throw new CommandFailure("refusing to forget " + p + ": cannot tell whether it still holds volume "
                            + index + " of pool " + pool + " (" + m.detail() + "). Run as root if it is a permission"
                            + " problem; if the file is gone for good, delete what is at " + p + " first");
                }
                VolumeRegistry.Unregistered done = registry.unregister(pool, p);
                System.out.println("d4: forgot volume " + done.index() + " of pool " + pool + ": " + p + " (" + m.detail() + ")");
                if (done.poolRemoved()) {
                    System.out.println("pool " + pool + " has no volume left in " + registry.file() + ": its record is removed;"
                            + " the name can be formatted again");
                } else {
                    VolumeRegistry.PoolRecord now = find(registry, pool);
                    System.out.println("pool " + pool + " still lists volume" + (now.indexes().size() == 1 ? " " : "s ")
                            + String.join(", ", now.indexes().stream().map(String::valueOf).toList())
                            + "; it cannot be mounted without volume " + done.index());
                }
            }
            return 0;
        }
    }
}

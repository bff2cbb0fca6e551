package d4.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.VolumeSpec;
import d4.engine.volume.VolumeRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** d4 volume list and d4 volume forget, through the real command line on real volume files. */
class VolumeCommandTest {
    private static final long SIZE = 64L << 20;

    @TempDir
    Path dir;

    private ConfigCommandTest.Run d4(String... args) {
        List<String> all = new java.util.ArrayList<>(List.of(args));
        all.addAll(List.of("--config", "/dev/null", "--data-dir", dir.resolve("data").toString()));
        return ConfigCommandTest.run(all.toArray(String[]::new));
    }

    private UUID format(String pool, Path... volumes) {
        return PoolLocator.format(dir.resolve("data"), pool,
                java.util.Arrays.stream(volumes).map(v -> new VolumeSpec(v, SIZE)).toList());
    }

    private VolumeRegistry.PoolRecord record(String pool) {
        try (VolumeRegistry r = VolumeRegistry.open(dir.resolve("data"))) {
            return r.find(pool).orElseThrow();
        }
    }

    @Test
    void listShowsEachRegisteredVolumeAndWhatItsPathHoldsNow() throws Exception {
        Path t0 = dir.resolve("tank0.img");
        Path t1 = dir.resolve("tank1.img");
        Path t2 = dir.resolve("tank2.img");
        UUID tank = format("tank", t0, t1, t2);
        Path s0 = dir.resolve("solo0.img");
        UUID solo = format("solo", s0);

        ConfigCommandTest.Run all = d4("volume", "list");
        assertEquals(0, all.exitCode(), all.stderr());
        String text = all.stdout();
        assertTrue(text.contains("pool solo  uuid " + solo + "  1 volume  complete\n"), text);
        assertTrue(text.contains("pool tank  uuid " + tank + "  3 volumes  complete\n"), text);
        assertTrue(text.matches("(?s).*\n  volume 2  " + t2 + "  64\\.0 MiB  present  uuid [0-9a-f-]{36}\n.*"), text);
        assertTrue(text.endsWith("2 pools in " + dir.resolve("data/registry.db") + "\n"), text);

        // tank1 is gone; tank2 now holds solo's volume (a stale path reused).
        Files.delete(t1);
        Files.delete(t2);
        Files.copy(s0, t2);
        ConfigCommandTest.Run one = d4("volume", "list", "--pool", "tank");
        assertEquals(0, one.exitCode(), one.stderr());
        text = one.stdout();
        assertFalse(text.contains("pool solo"), "--pool lists one pool: " + text);
        assertTrue(text.contains("pool tank  uuid " + tank + "  3 volumes  INCOMPLETE: volumes 1, 2\n"), text);
        assertTrue(text.contains("  volume 0  " + t0 + "  64.0 MiB  present  uuid "), text);
        assertTrue(text.contains("  volume 1  " + t1 + "  missing: the file does not exist\n"), text);
        assertTrue(text.contains("  volume 2  " + t2 + "  other: holds volume 0 of another pool, solo (" + solo + ")\n"), text);
        assertTrue(text.contains("  a volume that is gone for good: d4 volume forget --pool tank PATH removes its record\n"), text);

        ConfigCommandTest.Run json = d4("volume", "list", "--pool", "tank", "--json");
        assertEquals(0, json.exitCode(), json.stderr());
        String j = json.stdout();
        assertTrue(j.startsWith("{\"registry\":\"" + dir.resolve("data/registry.db") + "\",\"pools\":[{\"name\":\"tank\",\"uuid\":\""
                + tank + "\",\"volume_count\":3,\"complete\":false,\"volumes\":[{\"index\":0,\"path\":\"" + t0
                + "\",\"state\":\"present\",\"size_bytes\":" + SIZE + ",\"volume_uuid\":\""), j);
        assertTrue(j.contains("{\"index\":1,\"path\":\"" + t1 + "\",\"state\":\"missing\",\"size_bytes\":null,\"volume_uuid\":null,"
                + "\"superblock\":null,\"detail\":\"the file does not exist\"}"), j);
        assertTrue(j.contains("{\"index\":2,\"path\":\"" + t2 + "\",\"state\":\"other\",\"size_bytes\":null,\"volume_uuid\":null,"
                + "\"superblock\":\"primary\",\"detail\":\"holds volume 0 of another pool, solo (" + solo + ")\"}]}]}\n"), j);

        ConfigCommandTest.Run unknown = d4("volume", "list", "--pool", "nope");
        assertEquals(1, unknown.exitCode());
        assertTrue(unknown.stderr().contains("no pool named 'nope' in " + dir.resolve("data/registry.db") + " (it lists: solo, tank)"),
                unknown.stderr());
    }

    @Test
    void forgetRemovesOnlyTheRecordsOfVolumesThatAreGone() throws Exception {
        Path t0 = dir.resolve("tank0.img");
        Path t1 = dir.resolve("tank1.img");
        Path t2 = dir.resolve("tank2.img");
        format("tank", t0, t1, t2);

        // A volume that is still there is refused, saying what to do; nothing changes.
        ConfigCommandTest.Run present = d4("volume", "forget", "--pool", "tank", t1.toString());
        assertEquals(1, present.exitCode());
        assertTrue(present.stderr().startsWith("d4: error: refusing to forget " + t1 + ": it still holds volume 1 of pool tank"),
                present.stderr());
        assertTrue(present.stderr().contains("To delete the whole pool: d4 umount it, delete all of its volume files"),
                present.stderr());
        assertEquals(List.of(0, 1, 2), record("tank").indexes());

        // Also when the path holds the pool's superblock of another index (volume files swapped).
        Path swap = dir.resolve("swap");
        Files.move(t1, swap);
        Files.move(t2, t1);
        Files.move(swap, t2);
        ConfigCommandTest.Run swapped = d4("volume", "forget", "--pool", "tank", t2.toString());
        assertEquals(1, swapped.exitCode());
        assertTrue(swapped.stderr().contains("it still holds volume 1 (registered as volume 2) of pool tank"), swapped.stderr());

        // A missing one goes; the others keep their indexes.
        Files.delete(t1);
        ConfigCommandTest.Run gone = d4("volume", "forget", "--pool", "tank", dir.resolve("x/../tank1.img").toString());
        assertEquals(0, gone.exitCode(), gone.stderr());
        assertEquals("d4: forgot volume 1 of pool tank: " + t1 + " (the file does not exist)\n"
                + "pool tank still lists volumes 0, 2; it cannot be mounted without volume 1\n", gone.stdout());
        assertEquals(List.of(0, 2), record("tank").indexes());
        ConfigCommandTest.Run listed = d4("volume", "list");
        assertTrue(listed.stdout().contains("  volume 1  not registered: the pool has 3 volumes, but the registry has no record"
                + " of this one\n"), listed.stdout());

        // Mounting says what is wrong instead of handing the engine a short list.
        CommandFailure cannot = org.junit.jupiter.api.Assertions.assertThrows(CommandFailure.class,
                () -> PoolLocator.volumes(dir.resolve("data"), "tank"));
        assertTrue(cannot.getMessage().startsWith("volume 1 of pool tank is not in the registry (its record was removed with"
                + " d4 volume forget) and no block device holds it"), cannot.getMessage());

        // Not a volume of the pool; an unknown pool.
        ConfigCommandTest.Run notOne = d4("volume", "forget", "--pool", "tank", t1.toString());
        assertEquals(1, notOne.exitCode());
        assertTrue(notOne.stderr().contains(t1 + " is not a volume of pool tank in "), notOne.stderr());
        ConfigCommandTest.Run noPool = d4("volume", "forget", "--pool", "nope", t0.toString());
        assertEquals(1, noPool.exitCode());
        assertTrue(noPool.stderr().contains("no pool named 'nope'"), noPool.stderr());

        // A path that now holds something else (no d4 superblock) is a stale record: it goes.
        Files.delete(t2);
        Files.writeString(t2, "not a volume any more");
        ConfigCommandTest.Run other = d4("volume", "forget", "--pool", "tank", t2.toString());
        assertEquals(0, other.exitCode(), other.stderr());
        assertTrue(other.stdout().startsWith("d4: forgot volume 2 of pool tank: " + t2 + " (holds no d4 superblock)\n"),
                other.stdout());

        // The last one takes the pool's record: the name and the paths can be formatted again.
        Files.delete(t0);
        ConfigCommandTest.Run last = d4("volume", "forget", "--pool", "tank", t0.toString());
        assertEquals(0, last.exitCode(), last.stderr());
        assertTrue(last.stdout().contains("pool tank has no volume left in " + dir.resolve("data/registry.db")
                + ": its record is removed; the name can be formatted again"), last.stdout());
        Files.delete(t2);
        format("tank", t0, t2);
        assertEquals(List.of(t0, t2), record("tank").volumes());
    }

    @Test
    void helpListsTheSubcommands() {
        ConfigCommandTest.Run help = ConfigCommandTest.run("volume", "--help");
        assertEquals(0, help.exitCode());
        String h = help.stdout();
        assertTrue(h.contains("  list") && h.contains("  forget") && h.contains("  add") && h.contains("  remove"), h);
        ConfigCommandTest.Run none = ConfigCommandTest.run("volume");
        assertEquals(2, none.exitCode(), "a usage error");
        assertTrue(none.stderr().contains("give a subcommand: d4 volume list, add, remove or forget"), none.stderr());
        ConfigCommandTest.Run listHelp = ConfigCommandTest.run("volume", "list", "--help");
        assertTrue(listHelp.stdout().contains("--data-dir"), "the data dir flag reaches nested commands: " + listHelp.stdout());
    }

    @Test
    void addThenRemoveKeepsEveryByteAndTheRegistryInStep() throws Exception {
        Path v0 = dir.resolve("grow0.img");
        Path v1 = dir.resolve("grow1.img");
        format("grow", v0);
        ConfigCommandTest.Run add = d4("volume", "add", "--pool", "grow", v1 + ":64M");
        assertEquals(0, add.exitCode(), add.stderr() + add.stdout());
        assertTrue(add.stdout().contains("added " + v1 + " (64.0 MiB) to pool grow as volume 1; it has 2 volumes now"),
                add.stdout());
        assertEquals(List.of(v0, v1), record("grow").volumes());
        ConfigCommandTest.Run again = d4("volume", "add", "--pool", "grow", v1 + ":64M");
        assertEquals(1, again.exitCode(), "the same file cannot join twice: " + again.stdout());
        assertEquals(List.of(v0, v1), record("grow").volumes(), "a refused add leaves the registry as it was");

        java.util.Random r = new java.util.Random(9);
        java.util.Map<d4.engine.ObjectId, byte[]> written = new java.util.LinkedHashMap<>();
        try (d4.engine.Pool pool = d4.engine.Pool.open(PoolLocator.volumes(dir.resolve("data"), "grow"),
                d4.engine.PoolOptions.defaults())) {
            for (int i = 0; i < 12; i++) {
                byte[] data = new byte[300_000 + r.nextInt(300_000)];
                r.nextBytes(data);
                try (d4.engine.Txn t = pool.begin()) {
                    d4.engine.ObjectId id = t.create(new byte[0]);
                    t.commit();
                    written.put(id, data);
                }
                try (d4.engine.Txn t = pool.begin()) {
                    d4.engine.ObjectId id = written.keySet().stream().reduce((a, b) -> b).orElseThrow();
                    t.write(id, 0, java.lang.foreign.MemorySegment.ofArray(data));
                    t.commit();
                }
            }
            assertTrue(pool.info().volumes().get(1).freeBytes() < pool.info().volumes().get(1).capacityBytes(),
                    "data went to the new volume too");
        }
        ConfigCommandTest.Run zero = d4("volume", "remove", "--pool", "grow", v0.toString());
        assertEquals(1, zero.exitCode());
        assertTrue(zero.stderr().contains("volume 0") && zero.stderr().contains("cannot be removed"), zero.stderr());
        ConfigCommandTest.Run remove = d4("volume", "remove", "--pool", "grow", v1.toString());
        assertEquals(0, remove.exitCode(), remove.stderr() + remove.stdout());
        assertTrue(remove.stdout().contains("removed " + v1 + " from pool grow"), remove.stdout());
        assertEquals(List.of(v0), record("grow").volumes());
        assertFalse(d4.engine.volume.Superblock.hasMagic(Files.readAllBytes(v1)), "the removed file holds no superblock");
        try (d4.engine.Pool pool = d4.engine.Pool.open(List.of(v0), d4.engine.PoolOptions.defaults().asReadOnly())) {
            for (var e : written.entrySet()) {
                byte[] back = new byte[e.getValue().length];
                pool.read(e.getKey(), 0, java.lang.foreign.MemorySegment.ofArray(back));
                assertTrue(java.util.Arrays.equals(e.getValue(), back), "object " + e.getKey());
            }
            assertEquals(List.of(), pool.checkInvariants());
        }
        ConfigCommandTest.Run list = d4("volume", "list", "--pool", "grow");
        assertTrue(list.stdout().contains("pool grow  uuid ") && list.stdout().contains("1 volume  complete"), list.stdout());
    }
}

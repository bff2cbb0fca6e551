package d4.engine.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.D4Exception;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VolumeRegistryTest {
    @TempDir
    Path dir;

    @Test
    void registryFileIsCreatedWithMode0600() throws Exception {
        Path data = dir.resolve("data/dir");
        try (VolumeRegistry reg = VolumeRegistry.open(data)) {
            assertEquals(data.resolve(VolumeRegistry.FILE_NAME), reg.file());
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(reg.file());
            assertEquals(PosixFilePermissions.fromString("rw-------"), perms);
            assertTrue(reg.list().isEmpty());
        }
        // Reopening an existing registry keeps its mode.
        try (VolumeRegistry reg = VolumeRegistry.open(data)) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(reg.file())));
        }
    }

    @Test
    void registerFindAndListPools() {
        UUID u1 = UUID.randomUUID();
        UUID u2 = UUID.randomUUID();
        Path rel = Path.of("relative/../vols/b1.d4vol");
        try (VolumeRegistry reg = VolumeRegistry.open(dir)) {
            reg.register("zeta", u1, List.of(dir.resolve("z0"), dir.resolve("z1"), dir.resolve("z2")));
            reg.register("alpha", u2, List.of(rel));
        }
        try (VolumeRegistry reg = VolumeRegistry.open(dir)) {
            List<VolumeRegistry.PoolRecord> all = reg.list();
            assertEquals(2, all.size());
            assertEquals("alpha", all.get(0).name(), "listed by name");
            assertEquals(u2, all.get(0).uuid());
            assertEquals(List.of(rel.toAbsolutePath().normalize()), all.get(0).volumes(), "paths are stored absolute and normalized");
            VolumeRegistry.PoolRecord z = reg.find("zeta").orElseThrow();
            assertEquals(u1, z.uuid());
            assertEquals(List.of(dir.resolve("z0"), dir.resolve("z1"), dir.resolve("z2")), z.volumes(), "volumes in index order");
            assertTrue(reg.find("nope").isEmpty());
        }
    }

    @Test
    void duplicateNameOrPathIsAnErrorAndChangesNothing() {
        try (VolumeRegistry reg = VolumeRegistry.open(dir)) {
            reg.register("p", UUID.randomUUID(), List.of(dir.resolve("a")));
            D4Exception.InvalidArgument e = assertThrows(D4Exception.InvalidArgument.class,
                    () -> reg.register("p", UUID.randomUUID(), List.of(dir.resolve("b"))));
            assertTrue(e.getMessage().contains("'p'") && e.getMessage().contains(reg.file().toString()), e.getMessage());
            assertThrows(D4Exception.InvalidArgument.class,
                    () -> reg.register("q", UUID.randomUUID(), List.of(dir.resolve("c"), dir.resolve("a"))));
            // The failed registrations were rolled back entirely: no pool q, path c is free.
            assertEquals(1, reg.list().size());
            assertTrue(reg.find("q").isEmpty());
            reg.register("r", UUID.randomUUID(), List.of(dir.resolve("c")));
            assertEquals(List.of(dir.resolve("c")), reg.find("r").orElseThrow().volumes());
        }
    }

    @Test
    void unregisterRemovesOneVolumeKeepingTheOthersIndexesAndTheLastTakesThePool() {
        UUID u = UUID.randomUUID();
        Path z0 = dir.resolve("z0");
        Path z1 = dir.resolve("z1");
        Path z2 = dir.resolve("z2");
        try (VolumeRegistry reg = VolumeRegistry.open(dir)) {
            reg.register("zeta", u, List.of(z0, z1, z2));
            reg.register("other", UUID.randomUUID(), List.of(dir.resolve("o0")));
            VolumeRegistry.PoolRecord before = reg.find("zeta").orElseThrow();
            assertEquals(List.of(0, 1, 2), before.indexes());
            assertTrue(before.contiguous());

            VolumeRegistry.Unregistered r = reg.unregister("zeta", dir.resolve("sub/../z1"));
            assertEquals(new VolumeRegistry.Unregistered("zeta", 1, z1, false), r, "found by its normalized path");
        }
        try (VolumeRegistry reg = VolumeRegistry.open(dir)) {
            VolumeRegistry.PoolRecord z = reg.find("zeta").orElseThrow();
            assertEquals(List.of(z0, z2), z.volumes());
            assertEquals(List.of(0, 2), z.indexes(), "the other volumes keep their indexes");
            assertFalse(z.contiguous());
            assertEquals(Optional.of(z2), z.volume(2));
            assertEquals(Optional.empty(), z.volume(1));
            assertEquals(2, z.indexOf(z2));
            assertEquals(-1, z.indexOf(z1));

            D4Exception.InvalidArgument notThere = assertThrows(D4Exception.InvalidArgument.class,
                    () -> reg.unregister("zeta", z1));
            assertTrue(notThere.getMessage().contains("is not a volume of pool zeta") && notThere.getMessage().contains(z0.toString()),
                    notThere.getMessage());
            D4Exception.InvalidArgument noPool = assertThrows(D4Exception.InvalidArgument.class,
                    () -> reg.unregister("nope", z0));
            assertTrue(noPool.getMessage().contains("no pool named 'nope'") && noPool.getMessage().contains("other, zeta"),
                    noPool.getMessage());
            assertThrows(D4Exception.InvalidArgument.class, () -> reg.unregister("other", z0), "a volume of another pool");
            assertEquals(2, reg.find("zeta").orElseThrow().volumes().size(), "failed calls change nothing");

            assertFalse(reg.unregister("zeta", z0).poolRemoved());
            VolumeRegistry.Unregistered last = reg.unregister("zeta", z2);
            assertTrue(last.poolRemoved(), "the last volume takes the pool's record with it");
            assertEquals(2, last.index());
            assertTrue(reg.find("zeta").isEmpty());
            assertEquals(List.of("other"), reg.list().stream().map(VolumeRegistry.PoolRecord::name).toList());
            // The name and the paths are free again.
            reg.register("zeta", UUID.randomUUID(), List.of(z1, z0));
            assertEquals(List.of(z1, z0), reg.find("zeta").orElseThrow().volumes());
        }
    }

    @Test
    void unknownSchemaVersionIsRefused() throws Exception {
        try (VolumeRegistry reg = VolumeRegistry.open(dir)) {
            reg.register("p", UUID.randomUUID(), List.of(dir.resolve("a")));
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve(VolumeRegistry.FILE_NAME));
                Statement st = c.createStatement()) {
            st.execute("PRAGMA user_version = 7");
        }
        D4Exception.PoolUnavailable e = assertThrows(D4Exception.PoolUnavailable.class, () -> VolumeRegistry.open(dir));
        assertTrue(e.getMessage().contains("schema version 7"), e.getMessage());
    }

    @Test
    void unwritableDataDirIsPoolUnavailable() throws Exception {
        Path file = dir.resolve("not-a-dir");
        Files.writeString(file, "x");
        assertThrows(D4Exception.PoolUnavailable.class, () -> VolumeRegistry.open(file.resolve("sub")));
    }
}

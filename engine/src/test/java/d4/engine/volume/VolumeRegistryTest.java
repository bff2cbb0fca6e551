package d4.engine.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

package d4.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import d4.engine.volume.VolumeRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.TestAbortedException;

/**
 * Block devices, on loop devices: d4 discover finds a pool's volumes and says which are missing,
 * d4 mount --pool assembles a pool the registry does not know (and finds a registered device that
 * changed its name), d4 format refuses devices that are in use or hold a file system, and formats
 * a free one.
 */
@Timeout(600)
class BlockDeviceIT {
    private static final long SIZE = 128L << 20;
    private static final Pattern UUID_LINE = Pattern.compile("created pool \\S+ \\(([0-9a-f-]{36})\\)");

    @TempDir
    Path base;

    /** Unique per run: other pools may sit on this host's loop devices (other tests, other runs). */
    private final String pool = "it" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16);

    @BeforeEach
    void needLoopDevices() throws Exception {
        String why = LoopDevice.unavailable();
        assumeTrue(why == null, "skipped: " + why);
    }

    private D4Cli cli() throws Exception {
        return new D4Cli(Files.createDirectories(base.resolve("cli-run")));
    }

    @Test
    void discoverAssembleAndMissingMembers() throws Exception {
        D4Cli cli = cli();
        D4Cli.Result f = cli.run("format", "--data-dir", base.resolve("files-registry").toString(), "--pool", pool,
                "--volume", base.resolve("v0.img") + ":" + SIZE, "--volume", base.resolve("v1.img") + ":" + SIZE);
        assertEquals(0, f.exitCode(), f.all());
        Matcher m = UUID_LINE.matcher(f.stdout());
        assertTrue(m.find(), f.stdout());
        UUID uuid = UUID.fromString(m.group(1));

        try (LoopDevice d0 = LoopDevice.attach(base.resolve("v0.img"));
                LoopDevice d1 = LoopDevice.attach(base.resolve("v1.img"))) {
            D4Cli.Result scan = cli.run("discover");
            assertEquals(0, scan.exitCode(), scan.all());
            assertTrue(scan.stdout().contains("pool " + pool + "  uuid " + uuid + "  2 volumes  complete"), scan.stdout());
            assertTrue(scan.stdout().contains("volume 0  " + d0.device + "  128.0 MiB"), scan.stdout());
            assertTrue(scan.stdout().contains("volume 1  " + d1.device + "  128.0 MiB"), scan.stdout());
            D4Cli.Result json = cli.run("discover", "--json");
            assertTrue(json.stdout().contains("{\"name\":\"" + pool + "\",\"uuid\":\"" + uuid + "\",\"volume_count\":2,"
                    + "\"complete\":true,\"members\":[{\"index\":0,\"device\":\"" + d0.device + "\""), json.stdout());

            // A data dir whose registry does not know the pool: d4 mount assembles it from the devices.
            try (Mount mount = new Mount(base.resolve("assembled"), "--pool", pool)) {
                mount.mount();
                String status = mount.statusJson();
                assertTrue(status.contains("\"path\":\"" + d0.device + "\"") && status.contains("\"path\":\"" + d1.device + "\""),
                        status);
                Files.writeString(mount.mountPoint.resolve("hello"), "on loop devices");
                mount.umount();

                // Volume 1 goes away: discover says so, mount names it and starts nothing.
                d1.detach();
                D4Cli.Result missing = cli.run("discover");
                assertTrue(missing.stdout().contains("pool " + pool + "  uuid " + uuid + "  2 volumes  INCOMPLETE: missing volume 1"),
                        missing.stdout());
                assertTrue(missing.stdout().contains("  volume 1  missing"), missing.stdout());
                D4Cli.Result refused = mount.cli.run("mount", "--data-dir", mount.dataDir.toString(), "--pool", pool,
                        mount.mountPoint.toString());
                assertEquals(1, refused.exitCode(), refused.all());
                assertTrue(refused.stderr().contains("pool " + pool + " (" + uuid + ") is missing volume 1 of its 2 (found: volume 0 on "
                        + d0.device + ")"), refused.stderr());
                assertFalse(mount.isMounted());

                // Attached again (maybe under another name), it mounts with its data.
                try (LoopDevice again = LoopDevice.attach(base.resolve("v1.img"))) {
                    mount.mount();
                    assertEquals("on loop devices", Files.readString(mount.mountPoint.resolve("hello")));
                    assertTrue(mount.statusJson().contains("\"path\":\"" + again.device + "\""));
                    mount.umount();

                    // A registry that names the devices the wrong way round (device names changed since
                    // the format): each volume is found again by its superblock.
                    Path movedDir = base.resolve("moved");
                    try (VolumeRegistry r = VolumeRegistry.open(movedDir.resolve("data"))) {
                        r.register(pool, uuid, List.of(again.device, d0.device));
                    }
                    try (Mount moved = new Mount(movedDir, "--pool", pool)) {
                        moved.mount();
                        assertEquals("on loop devices", Files.readString(moved.mountPoint.resolve("hello")));
                        moved.umount();
                        String log = Files.readString(moved.dataDir.resolve("log").resolve(pool + ".log"));
                        assertTrue(log.contains("volume 0 of pool " + pool + " is on " + d0.device + " now (registered as "
                                + again.device + ")"), log);
                    }
                }
            }
            D4Cli.Result unknown = cli.run("mount", "--data-dir", base.resolve("empty").toString(), "--pool", pool + "x",
                    Files.createDirectories(base.resolve("mnt-unknown")).toString());
            assertEquals(1, unknown.exitCode(), unknown.all());
            assertTrue(unknown.stderr().contains("no pool named '" + pool + "x'") && unknown.stderr().contains("d4 discover"),
                    unknown.stderr());
        }
    }

    @Test
    void formatRefusesBusyOrUsedDevicesAndFormatsAFreeOne() throws Exception {
        D4Cli cli = cli();
        Path dataDir = base.resolve("data");
        try (LoopDevice d = LoopDevice.attach(base.resolve("dev.img"), SIZE)) {
            String dev = d.device.toString();
            boolean ext4 = LoopDevice.run("mkfs.ext4", "-q", "-F", dev).exitCode() == 0;
            if (ext4) {
                D4Cli.Result refused = cli.run("format", "--data-dir", dataDir.toString(), "--pool", pool, "--volume", dev);
                assertEquals(1, refused.exitCode(), refused.all());
                assertTrue(refused.stderr().contains(dev + " is not empty (found: ext4") && refused.stderr().contains("--force"),
                        refused.stderr());

                Path mnt = Files.createDirectories(base.resolve("ext4-mnt"));
                LoopDevice.Result mounted = LoopDevice.run("mount", "-t", "ext4", dev, mnt.toString());
                assertEquals(0, mounted.exitCode(), mounted.output());
                try {
                    D4Cli.Result busy = cli.run("format", "--data-dir", dataDir.toString(), "--pool", pool, "--force",
                            "--volume", dev);
                    assertEquals(1, busy.exitCode(), busy.all());
                    assertTrue(busy.stderr().contains("refusing to format " + dev + ": " + dev + " is mounted at " + mnt),
                            busy.stderr());
                } finally {
                    LoopDevice.Result u = LoopDevice.run("umount", mnt.toString());
                    assertEquals(0, u.exitCode(), u.output());
                }
            }

            D4Cli.Result formatted = cli.run("format", "--data-dir", dataDir.toString(), "--pool", pool, "--force",
                    "--volume", dev);
            if (formatted.stderr().contains("block device volumes are not supported")) {
                throw new TestAbortedException("Pool.format does not take block devices yet (the engine change is pending);"
                        + " the refusals above were checked");
            }
            assertEquals(0, formatted.exitCode(), formatted.all());
            assertTrue(formatted.stdout().contains("volume 0: " + dev + " (128.0 MiB, block device " + d.device.getFileName()),
                    formatted.stdout());
            assertEquals(ext4, formatted.stderr().contains("--force: overwriting ext4"), formatted.stderr());

            D4Cli.Result scan = cli.run("discover");
            assertTrue(scan.stdout().contains("pool " + pool + "  uuid ") && scan.stdout().contains("volume 0  " + dev),
                    scan.stdout());
            D4Cli.Result again = cli.run("format", "--data-dir", base.resolve("other").toString(), "--pool", pool + "b",
                    "--volume", dev);
            assertEquals(1, again.exitCode(), again.all());
            assertTrue(again.stderr().contains("found: a d4 volume (volume 0 of pool " + pool), again.stderr());

            try (Mount mount = new Mount(base, "--pool", pool)) {
                mount.mount();
                Files.write(mount.mountPoint.resolve("big"), new byte[5 << 20]);
                String status = mount.statusJson();
                assertTrue(status.contains("\"path\":\"" + dev + "\""), status);
                D4Cli.Result inUse = cli.run("format", "--data-dir", base.resolve("other").toString(), "--pool", pool + "c",
                        "--force", "--volume", dev);
                assertEquals(1, inUse.exitCode(), inUse.all());
                assertTrue(inUse.stderr().contains("a running d4 serves it") || inUse.stderr().contains("claimed"),
                        inUse.stderr());
                mount.umount();
            }
        }
    }
}

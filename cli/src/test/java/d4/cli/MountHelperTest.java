package d4.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class MountHelperTest {
    private static List<String> mountArgs(String... argv) {
        return MountHelper.translate(List.of(argv)).mountArgs();
    }

    @Test
    void d4OptionsBecomeFlagsAndTheRestGoesToFuse() {
        assertEquals(List.of("mount", "--pool", "tank", "--data-dir", "/srv/d4", "--io-engine", "filechannel", "--user", "d4",
                        "--config", "/etc/d4/tank.toml", "--fuse-threads", "4", "-o", "allow_other,nosuid,ro", "/srv/tank"),
                mountArgs("tank", "/srv/tank", "-o", "rw,data_dir=/srv/d4,allow_other,io_engine=filechannel,nosuid,user=d4,"
                        + "config=/etc/d4/tank.toml,ro,fuse_threads=4"));
    }

    @Test
    void mountAndSystemdOptionsAreDropped() {
        assertEquals(List.of("mount", "--pool", "tank", "/mnt/t"),
                mountArgs("tank", "/mnt/t", "-o", "defaults,rw,noauto,auto,_netdev,nofail,x-systemd.automount,"
                        + "x-systemd.requires=a.service,x-gvfs-show,comment=hello,users,owner,group,user,nouser"));
        assertEquals(List.of("mount", "--pool", "tank", "/mnt/t"), mountArgs("tank", "/mnt/t"));
    }

    @Test
    void mountFlagsSourceFormsAndLastValueWins() {
        MountHelper.Translation t = MountHelper.translate(
                List.of("d4:tank", "/mnt/t", "-s", "-n", "-v", "-f", "-o", "data_dir=/a", "-t", "fuse.d4", "-o", "data_dir=/b"));
        assertTrue(t.fake());
        assertTrue(t.verbose());
        assertEquals(List.of("mount", "--pool", "tank", "--data-dir", "/b", "/mnt/t"), t.mountArgs());
        assertFalse(MountHelper.translate(List.of("tank", "/m")).fake());
        assertEquals(List.of("mount", "--pool", "tank", "--log-file", "/var/log/d4 x,y.log", "-o", "allow_other", "/m"),
                mountArgs("tank", "/m", "-o", "log_file=\"/var/log/d4 x,y.log\",allow_other"), "quoted value with a comma");
        assertEquals(List.of("mount", "--pool", "tank", "--group", "staff", "/m"), mountArgs("tank", "/m", "-o", "group=staff"));
    }

    @Test
    void mistakesAreUsageErrors() {
        for (List<String> bad : List.of(List.of("tank"), List.of("tank", "/m", "/x"), List.of("/dev/sdb", "/m"),
                List.of("tank", "/m", "-o"), List.of("tank", "/m", "-t", "ext4"), List.of("tank", "/m", "-x"),
                List.of("tank", "/m", "-o", "data_dir"), List.of("tank", "/m", "-o", "foreground"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MountHelper.translate(bad),
                    bad.toString());
            assertTrue(e.getMessage().startsWith("mount.fuse.d4: ") && e.getMessage().contains("usage"), e.getMessage());
        }
    }

    @Test
    void everyNonBooleanMountOptionHasAHelperName() {
        assertTrue(MountHelper.d4Options().keySet().containsAll(List.of("data_dir", "runtime_dir", "io_engine",
                "commit_interval", "fuse_threads", "start_timeout", "user", "group", "log_level", "log_file", "config")),
                MountHelper.d4Options().toString());
        assertFalse(MountHelper.d4Options().containsKey("foreground"));
    }

    @Test
    void installedFilesPointIntoTheirPrefix() {
        Installation in = new Installation(Path.of("/tmp/pfx"));
        assertEquals(Path.of("/tmp/pfx/sbin/mount.fuse.d4"), in.helper());
        String helper = in.helperText("d4 test");
        assertTrue(helper.startsWith("#!/bin/sh\n") && helper.contains("exec /tmp/pfx/sbin/d4 mount-helper \"$@\""), helper);
        String launcher = in.launcherText("d4 test");
        assertTrue(launcher.contains("-jar /tmp/pfx/usr/local/lib/d4/d4-cli.jar \"$@\""), launcher);
        assertTrue(launcher.contains(Installation.JVM_FLAGS), launcher);
        assertFalse(launcher.contains("{{") || helper.contains("{{"), "placeholders replaced");
        String unit = in.unitText("d4 test");
        assertTrue(unit.contains("ExecStart=/tmp/pfx/sbin/d4 mount --pool %i ${MOUNTPOINT}"), unit);
        assertTrue(unit.contains("ExecStop=/tmp/pfx/sbin/d4 umount ${MOUNTPOINT}"), unit);
        assertTrue(unit.contains("EnvironmentFile=-/tmp/pfx/etc/d4/%i.env"), unit);
        assertFalse(unit.contains("{{"), unit);
        assertEquals("'/a b/c'", Installation.shellQuote("/a b/c"));
        assertEquals("/usr/lib/jvm/x-25/bin/java", Installation.shellQuote("/usr/lib/jvm/x-25/bin/java"));
    }
}

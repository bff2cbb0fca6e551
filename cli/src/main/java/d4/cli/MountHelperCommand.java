package d4.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code d4 mount-helper}: what {@code /sbin/mount.fuse.d4} (installed by d4 install) runs for
 * mount(8). Its arguments are mount(8)'s, untouched (flags such as -o are not picocli's: Main lets
 * them through as parameters).
 */
@Command(
        name = "mount-helper",
        description = {
            "mount(8)'s helper: mount -t fuse.d4 POOL MOUNTPOINT, and fstab lines of type fuse.d4.",
            "It is what /sbin/mount.fuse.d4 (installed by d4 install) runs for",
            "'mount -t fuse.d4 POOL MOUNTPOINT -o OPTIONS' and for /etc/fstab lines such as",
            "  tank  /srv/tank  fuse.d4  defaults,nofail,data_dir=/var/lib/d4,allow_other  0  0",
            "It runs d4 mount --pool POOL ... MOUNTPOINT, which returns once the mount answers.",
            "",
            "OPTIONS: a d4 mount flag is written without its dashes and with '_' for '-': data_dir=DIR,",
            "runtime_dir=DIR, io_engine=io_uring|filechannel, user=USER, group=GROUP, fuse_threads=N,",
            "commit_interval=SECONDS, start_timeout=SECONDS, log_level=LEVEL, log_file=FILE,",
            "metrics_listen=HOST:PORT, and config=FILE (the TOML file). defaults, rw, auto, noauto, nofail,",
            "_netdev, user, users, owner, group (without a value), x-systemd.* and other x-* options and",
            "comment=... are accepted and ignored. Everything else is a FUSE option (allow_other, ro, nosuid,",
            "...). The source may be POOL or d4:POOL.",
            "",
            "Flags from mount(8): -f (fake: do nothing), -v (print the d4 command), -s and -n (ignored),",
            "-t TYPE. Exit status as mount(8): 0 mounted, 1 wrong usage, 32 mount failure."
        })
final class MountHelperCommand implements Callable<Integer> {
    @Parameters(paramLabel = "ARG", description = "POOL MOUNTPOINT [-sfnv] [-o OPTIONS] [-t TYPE], as mount(8) passes them.")
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() {
        MountHelper.Translation t;
        try {
            t = MountHelper.translate(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            return 1;
        }
        if (t.verbose() || t.fake()) {
            System.err.println("mount.fuse.d4: " + (t.fake() ? "would run" : "running") + ": d4 " + String.join(" ", t.mountArgs()));
        }
        if (t.fake()) {
            return 0;
        }
        int rc = Main.execute(t.mountArgs().toArray(String[]::new));
        return switch (rc) {
            case 0 -> 0;
            case 2 -> 1; // usage: an option value d4 mount refused
            case 70 -> 4; // internal error (mount(8): "internal bug")
            default -> 32; // mount failure
        };
    }
}

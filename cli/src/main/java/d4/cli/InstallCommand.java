package d4.cli;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "install",
        mixinStandardHelpOptions = true,
        description = {
            "Install d4 on this host: the launcher, mount(8)'s helper and a systemd unit template.",
            "Installs this d4's jar and libraries in PREFIX/usr/local/lib/d4/, the launcher PREFIX/sbin/d4,",
            "mount(8)'s helper PREFIX/sbin/mount.fuse.d4 (and mount.d4, a link to it), so",
            "that 'mount -t fuse.d4 POOL MOUNTPOINT' and /etc/fstab lines of type fuse.d4 work, and the",
            "systemd unit template PREFIX/etc/systemd/system/d4@.service (systemctl enable --now d4@POOL).",
            "Prints each file it wrote. Running it again upgrades in place: every file is replaced",
            "atomically, and running daemons go on with the version they started with until remounted.",
            "Needs root for the default prefix /."
        })
final class InstallCommand implements Callable<Integer> {
    @Option(names = "--prefix", paramLabel = "DIR", defaultValue = "/",
            description = "Install under DIR instead of / (for packaging and tests; default: ${DEFAULT-VALUE}).")
    Path prefix;

    @Override
    public Integer call() throws IOException {
        Installation in = new Installation(prefix);
        String version = Installation.version();
        List<Installation.JarCopy> jars = in.jars();
        try {
            for (Installation.JarCopy j : jars) {
                Installation.copy(j.source(), j.target());
            }
            System.out.println("installed " + in.jar() + " and " + (jars.size() - 1) + " libraries in "
                    + in.libDir.resolve("lib") + " (" + version + ")");
            Installation.write(in.launcher(), in.launcherText(version), "rwxr-xr-x");
            System.out.println("installed " + in.launcher() + " (launcher: " + Installation.java() + " -jar " + in.jar() + ")");
            Installation.write(in.helper(), in.helperText(version), "rwxr-xr-x");
            System.out.println("installed " + in.helper() + " (mount(8) helper: mount -t fuse.d4 POOL MOUNTPOINT)");
            Installation.symlink(in.helperAlias(), in.helper().getFileName().toString());
            System.out.println("installed " + in.helperAlias() + " -> " + in.helper().getFileName() + " (mount -t d4)");
            Installation.write(in.unit(), in.unitText(version), "rw-r--r--");
            System.out.println("installed " + in.unit() + " (systemd unit template: d4@POOL.service)");
        } catch (AccessDeniedException e) {
            throw new CommandFailure("no permission to write " + e.getFile() + ": run d4 install as root"
                    + (in.prefix.equals(Path.of("/")) ? "" : ", or choose a writable --prefix"));
        } catch (FileSystemException e) {
            throw new CommandFailure("cannot write " + e.getFile() + ": " + e.getMessage());
        }
        System.out.println();
        System.out.println("Next:");
        System.out.println("  mount -t fuse.d4 POOL MOUNTPOINT [-o data_dir=DIR,allow_other,...]   (d4 help mount-helper)");
        System.out.println("  /etc/fstab:  POOL  MOUNTPOINT  fuse.d4  defaults,nofail  0  0");
        System.out.println("  systemctl daemon-reload && systemctl enable --now d4@POOL   (mount point: MOUNTPOINT= in "
                + in.etcDir.resolve("POOL.env") + ", default /mnt/POOL)");
        return 0;
    }
}

package d4.cli;

import d4.cli.config.ConfigException;
import d4.engine.D4Exception;
import d4.fs.FsException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The d4 command. */
@Command(
        name = "d4",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = {
            "d4 mounts a directory whose files live in d4's own storage engine (pools of volumes:",
            "block devices or plain files), with the behaviour of a native Linux file system.",
            ""
        },
        subcommands = {
            FormatCommand.class,
            DiscoverCommand.class,
            VolumeCommand.class,
            MountCommand.class,
            UmountCommand.class,
            StatusCommand.class,
            FsckCommand.class,
            ScrubCommand.class,
            ConfigCommand.class,
            InstallCommand.class,
            MountHelperCommand.class,
            BenchCommand.class,
            CommandLine.HelpCommand.class
        },
        footer = {
            "",
            "Data dir: --data-dir, else $D4_DATA_DIR, else [data] dir in the configuration file, else /var/lib/d4",
            "(root) or $XDG_DATA_HOME/d4. d4 config show prints every option, its value and where it came from.",
            "Run 'd4 help COMMAND' for a command's options. Docs: docs/operations.md in the d4 sources."
        })
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "give a command, e.g. d4 mount MOUNTPOINT");
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns the exit status (0 ok, 1 failure, 2 usage). */
    public static int execute(String... args) {
        Logging.configure();
        CommandLine cl = new CommandLine(new Main());
        ConfigFlags.install(cl);
        // mount(8)'s flags (-o, -s, -n, -v, -f, -t) reach the helper as they are.
        cl.getSubcommands().get("mount-helper").setUnmatchedOptionsArePositionalParams(true);
        cl.setUsageHelpWidth(100);
        cl.setExecutionExceptionHandler(Main::onError);
        return cl.execute(args);
    }

    private static int onError(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        switch (e) {
            case CommandFailure f -> err.println("d4: error: " + f.getMessage());
            case ConfigException c -> err.println("d4: error: " + c.getMessage());
            case D4Exception d -> err.println("d4: error: " + d.getMessage());
            case FsException f -> err.println("d4: error: " + f.getMessage());
            case d4.fuse.MountFailedException m -> err.println("d4: error: " + m.getMessage());
            case IllegalArgumentException i -> err.println("d4: error: " + i.getMessage());
            default -> {
                err.println("d4: internal error (a bug: please report it with this output):");
                e.printStackTrace(err);
                err.flush();
                return 70;
            }
        }
        err.flush();
        return 1;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties p = new Properties();
            try (InputStream in = Main.class.getResourceAsStream("/d4-version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            }
            return new String[] {
                "d4 " + p.getProperty("version", "unknown"),
                "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")",
                "on-disk format version " + d4.engine.volume.Superblock.FORMAT_VERSION
            };
        }
    }
}

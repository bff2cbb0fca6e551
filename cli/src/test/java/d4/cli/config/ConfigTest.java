package d4.cli.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigTest {
    @TempDir
    Path dir;

    private Host host(Map<String, String> env) {
        return new Host(true, 0, "/root", env, dir.resolve("etc-d4.toml"));
    }

    private Config load(Path file, Map<String, String> env, Config.FlagValue... flags) {
        return Config.load(new Config.Inputs(Optional.ofNullable(file), List.of(flags), host(env)));
    }

    private Path toml(String text) throws IOException {
        return Files.writeString(Files.createTempFile(dir, "d4", ".toml"), text);
    }

    private static String error(Runnable r) {
        return assertThrows(ConfigException.class, r::run).getMessage();
    }

    @Test
    void eachSourceOverridesTheOneBelow() throws IOException {
        Path file = toml("""
                [io]
                engine = "filechannel"
                [mount]
                fuse_threads = 4
                start_timeout = 30
                options = ["allow_other"]
                [pool]
                commit_interval = 7
                """);
        Map<String, String> env = Map.of("D4_MOUNT_FUSE_THREADS", "6", "D4_MOUNT_START_TIMEOUT", "40",
                "D4_LOG_LEVEL", "FINE");
        Config c = load(file, env, new Config.FlagValue(Options.FUSE_THREADS, "--fuse-threads", "12"));

        assertEquals(8, load(null, Map.of()).number(Options.FUSE_THREADS), "default");
        assertEquals("io_uring", load(null, Map.of()).string(Options.IO_ENGINE), "default");
        assertEquals("filechannel", c.string(Options.IO_ENGINE), "file over default");
        assertEquals(7, c.number(Options.COMMIT_INTERVAL), "file over default");
        assertEquals(List.of("allow_other"), c.list(Options.FUSE_OPTIONS));
        assertEquals(40, c.number(Options.START_TIMEOUT), "env over file");
        assertEquals("fine", c.string(Options.LOG_LEVEL), "env, case-insensitive, canonical spelling");
        assertEquals(12, c.number(Options.FUSE_THREADS), "flag over env over file");
        assertEquals(false, c.bool(Options.FOREGROUND), "default");

        assertEquals(new Origin.Default(), c.setting(Options.FOREGROUND).origin());
        assertEquals("file " + file, c.setting(Options.IO_ENGINE).origin().describe());
        assertEquals("env D4_MOUNT_START_TIMEOUT", c.setting(Options.START_TIMEOUT).origin().describe());
        assertEquals("flag --fuse-threads", c.setting(Options.FUSE_THREADS).origin().describe());
        assertEquals(Optional.of(file), c.file());
    }

    @Test
    void theFileIsTheFlagsElseD4ConfigElseTheSystemFileWhenPresent() throws IOException {
        Path a = toml("[io]\nengine = \"filechannel\"\n");
        Path b = toml("[mount]\nfuse_threads = 3\n");
        assertEquals(Optional.empty(), load(null, Map.of()).file(), "no system file here");
        assertEquals(Optional.of(b), load(null, Map.of("D4_CONFIG", b.toString())).file());
        assertEquals(Optional.of(a), load(a, Map.of("D4_CONFIG", b.toString())).file(), "--config wins over D4_CONFIG");
        Files.writeString(dir.resolve("etc-d4.toml"), "[mount]\nfuse_threads = 2\n");
        Config system = load(null, Map.of());
        assertEquals(2, system.number(Options.FUSE_THREADS));
        assertEquals(Optional.of(dir.resolve("etc-d4.toml")), system.file());
        assertEquals(Optional.of(a), load(a, Map.of()).file(), "--config replaces the system file");
        assertEquals(8, load(Path.of("/dev/null"), Map.of()).number(Options.FUSE_THREADS), "/dev/null: no file");
    }

    @Test
    void existingEnvironmentVariablesKeepTheirMeaning() {
        Config c = load(null, Map.of("D4_IO_ENGINE", "filechannel", "D4_DATA_DIR", "/srv/d4", "D4_RUNTIME_DIR", "/run/x",
                "D4_LOG_LEVEL", "WARNING"));
        assertEquals("filechannel", c.string(Options.IO_ENGINE));
        assertEquals(Path.of("/srv/d4"), c.path(Options.DATA_DIR));
        assertEquals(Path.of("/run/x"), c.path(Options.RUNTIME_DIR));
        assertEquals("warning", c.string(Options.LOG_LEVEL));
        assertEquals("filechannel", load(null, Map.of("D4_IO_ENGINE", "filechannel", "D4_JAVA_OPTS", "-Xmx1g",
                "D4_LOG_PREFIX", "d4")).string(Options.IO_ENGINE), "the launcher's own D4_ variables are not options");
        assertEquals("io_uring", load(null, Map.of("D4_IO_ENGINE", "")).string(Options.IO_ENGINE), "empty means unset");
    }

    @Test
    void computedDefaultsFollowTheHost() {
        Host user = new Host(false, 1000, "/home/u", Map.of("XDG_DATA_HOME", "/xdg", "XDG_RUNTIME_DIR", "/run/user/1000"),
                dir.resolve("none"));
        Config c = Config.load(new Config.Inputs(Optional.empty(), List.of(), user));
        assertEquals(Path.of("/xdg/d4"), c.path(Options.DATA_DIR));
        assertEquals(Path.of("/run/user/1000/d4"), c.path(Options.RUNTIME_DIR));
        Host bare = new Host(false, 1000, "/home/u", Map.of(), dir.resolve("none"));
        Config b = Config.load(new Config.Inputs(Optional.empty(), List.of(), bare));
        assertEquals(Path.of("/home/u/.local/share/d4"), b.path(Options.DATA_DIR));
        assertEquals(Path.of("/tmp/d4-1000"), b.path(Options.RUNTIME_DIR));
        Config root = load(null, Map.of());
        assertEquals(Path.of("/var/lib/d4"), root.path(Options.DATA_DIR));
        assertEquals(Path.of("/run/d4"), root.path(Options.RUNTIME_DIR));
    }

    @Test
    void invalidValuesNameTheOptionTheSourceAndWhatIsAllowed() throws IOException {
        assertEquals("invalid value \"fast\" for io.engine (from env D4_IO_ENGINE): expected one of io_uring, filechannel",
                error(() -> load(null, Map.of("D4_IO_ENGINE", "fast"))));
        assertEquals("invalid value \"aio\" for io.engine (from flag --io-engine): expected one of io_uring, filechannel",
                error(() -> load(null, Map.of(), new Config.FlagValue(Options.IO_ENGINE, "--io-engine", "aio"))));
        Path file = toml("[mount]\n\nfuse_threads = 500\n");
        assertEquals("invalid value 500 for mount.fuse_threads (from file " + file + " line 3): expected an integer from 1 to 64",
                error(() -> load(file, Map.of())));
        Path lots = toml("[pool]\ndefault_volume_size = \"lots\"\n");
        String size = error(() -> load(lots, Map.of()));
        assertTrue(size.startsWith("invalid value \"lots\" for pool.default_volume_size (from file "), size);
        assertTrue(size.endsWith("line 2): expected a size of at least 64M such as \"512M\", \"64G\" or \"1T\""), size);
        assertTrue(error(() -> load(null, Map.of("D4_MOUNT_FOREGROUND", "yes")))
                .endsWith("(from env D4_MOUNT_FOREGROUND): expected true or false"));
        Path relative = toml("[data]\ndir = \"relative/path\"\n");
        assertTrue(error(() -> load(relative, Map.of())).endsWith("line 2): expected an absolute path"));
    }

    @Test
    void wrongTomlTypesAreInvalidValues() throws IOException {
        Path quotedNumber = toml("[mount]\nfuse_threads = \"8\"\n");
        assertEquals("invalid value \"8\" for mount.fuse_threads (from file " + quotedNumber
                + " line 2): expected an integer from 1 to 64", error(() -> load(quotedNumber, Map.of())));
        Path quotedBool = toml("[mount]\nforeground = \"true\"\n");
        assertTrue(error(() -> load(quotedBool, Map.of())).endsWith("expected true or false (a TOML boolean, without quotes)"));
        Path notAList = toml("[mount]\noptions = \"allow_other\"\n");
        assertTrue(error(() -> load(notAList, Map.of())).contains("expected an array of strings"));
        Path numberForString = toml("[io]\nengine = 1\n");
        assertTrue(error(() -> load(numberForString, Map.of())).startsWith("invalid value 1 for io.engine"));
        Path table = toml("[io.engine]\nx = 1\n");
        assertTrue(error(() -> load(table, Map.of())).startsWith("invalid value {\"x\":1} for io.engine"));
        Path fraction = toml("[pool]\ncommit_interval = 1.5\n");
        assertTrue(error(() -> load(fraction, Map.of())).endsWith("expected an integer from 1 to 3600"));
    }

    @Test
    void unknownKeysAndSectionsAreErrors() throws IOException {
        Path key = toml("[io]\nengine = \"io_uring\"\n\n[mount]\nfuse_thread = 3\n");
        assertEquals("unknown option mount.fuse_thread (from file " + key + " line 5): the options of [mount] are foreground,"
                + " options, fuse_threads, start_timeout, user, group", error(() -> load(key, Map.of())));
        Path section = toml("# d4\n[mnt]\nuser = \"nobody\"\n");
        assertEquals("unknown section [mnt] (from file " + section + " line 2): the sections are data, runtime, io, pool,"
                + " mount, log, metrics", error(() -> load(section, Map.of())));
        Path topLevel = toml("engine = \"filechannel\"\n");
        assertEquals("unknown option engine (from file " + topLevel + " line 1): every option belongs to a section: did you"
                + " mean [io] engine?", error(() -> load(topLevel, Map.of())));
        Path dotted = toml("io.speed = 1\n");
        assertTrue(error(() -> load(dotted, Map.of())).startsWith("unknown option io.speed (from file " + dotted + " line 1)"));
        assertEquals("unknown option io.speed (from flag --set): d4 config show lists every option",
                error(() -> Config.parseAssignment("--set", "io.speed=1")));
    }

    @Test
    void unreadableOrMalformedFilesAreErrors() throws IOException {
        Path missing = dir.resolve("missing.toml");
        assertEquals("cannot read configuration file " + missing + " (from flag --config): it does not exist; fix the path,"
                + " or create it with d4 config show --defaults > " + missing, error(() -> load(missing, Map.of())));
        assertTrue(error(() -> load(null, Map.of("D4_CONFIG", missing.toString()))).contains("(from env D4_CONFIG): it does not exist"));
        assertTrue(error(() -> load(dir, Map.of())).endsWith("it is a directory; name a TOML file"));
        Path syntax = toml("[io]\nengine = \n");
        String e = error(() -> load(syntax, Map.of()));
        assertTrue(e.startsWith("configuration file " + syntax + " line 2 column "), e);
        assertTrue(e.contains("is not valid TOML"), e);
        Path binary = Files.write(dir.resolve("bin.toml"), new byte[] {(byte) 0xff, (byte) 0xfe, 0});
        assertTrue(error(() -> load(binary, Map.of())).endsWith("it is not UTF-8 text"));
    }

    @Test
    void aFileRootCannotReadIsAnError() throws IOException {
        assumeFalse(System.getProperty("user.name").equals("root"), "root reads any file");
        Path secret = toml("[io]\nengine = \"io_uring\"\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("---------"));
        assertTrue(error(() -> load(secret, Map.of())).contains("permission denied"));
    }

    @Test
    void showPrintsEveryOptionWithItsOrigin() throws IOException {
        Path file = toml("[io]\nengine = \"filechannel\"\n");
        Config c = load(file, Map.of("D4_MOUNT_USER", "nobody"),
                new Config.FlagValue(Options.FOREGROUND, "--foreground", "true"));
        List<String> lines = ConfigText.show(c).lines().toList();
        assertEquals("# configuration file: " + file, lines.getFirst());
        assertEquals(Options.ALL.size() + 1, lines.size());
        assertTrue(lines.contains("io.engine = \"filechannel\"  # file " + file), lines.toString());
        assertTrue(lines.contains("mount.user = \"nobody\"  # env D4_MOUNT_USER"), lines.toString());
        assertTrue(lines.contains("mount.foreground = true  # flag --foreground"), lines.toString());
        assertTrue(lines.contains("mount.fuse_threads = 8  # default"), lines.toString());
        assertTrue(lines.contains("pool.default_volume_size = \"64G\"  # default"), lines.toString());
        assertTrue(lines.contains("data.dir = \"/var/lib/d4\"  # default"), lines.toString());
    }

    @Test
    void theDefaultsFileParsesBackToTheDefaults() throws IOException {
        for (Host h : List.of(host(Map.of()), new Host(false, 1000, "/home/u", Map.of("XDG_DATA_HOME", "/xdg"), dir.resolve("x")))) {
            String text = ConfigText.defaultsToml(h);
            Path file = toml(text);
            Config fromFile = Config.load(new Config.Inputs(Optional.of(file), List.of(), h));
            Config defaults = Config.load(new Config.Inputs(Optional.of(Path.of("/dev/null")), List.of(), h));
            for (Option o : Options.ALL) {
                assertEquals(defaults.value(o), fromFile.value(o), o.name());
                assertEquals("file " + file, fromFile.setting(o).origin().describe(), o.name() + " is in the file");
                assertTrue(text.contains("# Environment: " + o.envVar() + "."),
                        o.name() + " documents its variable");
            }
            assertTrue(text.contains("# Allowed: one of io_uring, filechannel."), text);
        }
    }

    @Test
    void setArgumentsCarryTheExactConfiguration() throws IOException {
        Path file = toml("[mount]\noptions = [\"allow_other\", \"ro\"]\nuser = \"nobody\"\n[log]\nfile = \"/var/log/d4 x.log\"\n");
        Config parent = load(file, Map.of("D4_IO_ENGINE", "filechannel", "D4_DATA_DIR", "/srv/d4"));
        List<String> args = parent.asSetArguments();
        List<Config.FlagValue> flags = new ArrayList<>();
        for (int i = 0; i < args.size(); i += 2) {
            assertEquals("--set", args.get(i));
            flags.add(Config.parseAssignment("--set", args.get(i + 1)));
        }
        Map<String, String> otherEnv = new HashMap<>(Map.of("D4_IO_ENGINE", "io_uring", "D4_MOUNT_FUSE_THREADS", "3"));
        Config child = Config.load(new Config.Inputs(Optional.of(Path.of("/dev/null")), flags, host(otherEnv)));
        for (Option o : Options.ALL) {
            assertEquals(parent.value(o), child.value(o), o.name());
        }
    }

    @Test
    void sizesRoundTrip() {
        assertEquals("64G", ByteSize.formatExact(64L << 30));
        assertEquals("1536M", ByteSize.formatExact(3L << 29));
        assertEquals("4097", ByteSize.formatExact(4097));
        Type.Size t = new Type.Size(1);
        for (long v : new long[] {1, 4096, 64L << 30, (1L << 40) + 4096}) {
            assertEquals(v, t.parse(t.format(v)));
        }
    }

    @Test
    void everyOptionIsWellFormed() {
        List<String> names = new ArrayList<>();
        List<String> flags = new ArrayList<>();
        Host h = host(Map.of());
        for (Option o : Options.ALL) {
            assertTrue(o.section().matches("[a-z]+") && o.key().matches("[a-z_]+"), o.name());
            assertTrue(!o.doc().isBlank() && o.doc().endsWith("."), o.name() + ": doc is sentences");
            assertTrue(names.add(o.name().toLowerCase()), "unique: " + o.name());
            assertTrue(!o.flags().isEmpty() || o.commands().isEmpty(), o.name() + ": commands only with a flag");
            for (String f : o.flags()) {
                assertTrue(!flags.contains(f), "flag used once: " + f);
                flags.add(f);
            }
            Object d = o.defaultValue().valueFor(h);
            assertEquals(d, o.type().parse(o.type().format(d)), o.name() + ": default survives format/parse");
        }
    }
}

package d4.cli.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The effective configuration: every option's value and where it came from. Sources, in rising
 * precedence: the default, the TOML file, the environment (D4_SECTION_KEY), command-line flags.
 *
 * @param file the configuration file that was read, if any
 */
public record Config(Optional<Path> file, Map<Option, Setting> settings) {

    public Config {
        settings = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(settings));
    }

    /** One option's effective value and its origin. */
    public record Setting(Option option, Object value, Origin origin) {
        /** The value as a TOML literal. */
        public String toml() {
            return option.type().toToml(value);
        }
    }

    /**
     * A flag given on the command line.
     *
     * @param name the flag as it will be named in origins ("--io-engine", "--set")
     * @param text its value as text (for a list, comma-separated)
     */
    public record FlagValue(Option option, String name, String text) {}

    /**
     * What {@link #load} reads.
     *
     * @param configFlag the file named by --config, if given
     * @param flags the option flags given, applied in order (a later one wins)
     */
    public record Inputs(Optional<Path> configFlag, List<FlagValue> flags, Host host) {
        public Inputs {
            flags = List.copyOf(flags);
        }
    }

    /** The environment variable that names the configuration file. */
    public static final String CONFIG_ENV = "D4_CONFIG";

    /** Builds the effective configuration; throws {@link ConfigException} on the first problem. */
    public static Config load(Inputs in) {
        Map<Option, Setting> settings = new LinkedHashMap<>();
        for (Option o : Options.ALL) {
            settings.put(o, new Setting(o, o.defaultValue().valueFor(in.host()), new Origin.Default()));
        }
        Optional<Path> file = chooseFile(in);
        if (file.isPresent()) {
            readFile(file.get(), settings);
        }
        for (Option o : Options.ALL) {
            String text = in.host().env(o.envVar());
            if (text != null) {
                Origin origin = new Origin.Env(o.envVar());
                settings.put(o, new Setting(o, parse(o, text, origin), origin));
            }
        }
        for (FlagValue f : in.flags()) {
            Origin origin = new Origin.Flag(f.name());
            settings.put(f.option(), new Setting(f.option(), parse(f.option(), f.text(), origin), origin));
        }
        return new Config(file, settings);
    }

    /** --config FILE, else $D4_CONFIG, else the system file when it exists. */
    private static Optional<Path> chooseFile(Inputs in) {
        Path named;
        String by;
        if (in.configFlag().isPresent()) {
            named = in.configFlag().get();
            by = "flag --config";
        } else if (in.host().env(CONFIG_ENV) != null) {
            named = Path.of(in.host().env(CONFIG_ENV));
            by = "env " + CONFIG_ENV;
        } else if (Files.exists(in.host().systemConfig())) {
            named = in.host().systemConfig();
            by = "the default location";
        } else {
            return Optional.empty();
        }
        Path path = named.toAbsolutePath().normalize();
        if (Files.isDirectory(path)) {
            throw new ConfigException("cannot read configuration file " + path + " (from " + by
                    + "): it is a directory; name a TOML file");
        }
        checkReadable(path, by);
        return Optional.of(path);
    }

    private static void checkReadable(Path path, String by) {
        try (var _ = Files.newInputStream(path)) {
            // readable
        } catch (NoSuchFileException e) {
            throw new ConfigException("cannot read configuration file " + path + " (from " + by
                    + "): it does not exist; fix the path, or create it with d4 config show --defaults > " + path);
        } catch (AccessDeniedException e) {
            throw new ConfigException("cannot read configuration file " + path + " (from " + by
                    + "): permission denied; make it readable by this user (or run as root)");
        } catch (IOException e) {
            throw new ConfigException("cannot read configuration file " + path + " (from " + by + "): " + e.getMessage());
        }
    }

    private static void readFile(Path path, Map<Option, Setting> settings) {
        String text;
        try {
            text = Files.readString(path);
        } catch (CharacterCodingException e) {
            throw new ConfigException("cannot read configuration file " + path + ": it is not UTF-8 text");
        } catch (IOException e) {
            throw new ConfigException("cannot read configuration file " + path + ": " + e.getMessage());
        }
        JsonNode root;
        try {
            root = new TomlMapper().readTree(text);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " line " + e.getLocation().getLineNr() + " column "
                    + e.getLocation().getColumnNr();
            throw new ConfigException("configuration file " + path + where + " is not valid TOML: " + e.getOriginalMessage()
                    + " (see d4 config show --defaults for the expected form)");
        }
        if (root == null || root.isMissingNode()) {
            return; // empty file
        }
        TomlLines lines = new TomlLines(text);
        for (Map.Entry<String, JsonNode> section : root.properties()) {
            String s = section.getKey();
            OptionalInt sectionLine = lines.lineOf(s);
            if (!section.getValue().isObject()) {
                List<String> like = Options.ALL.stream().filter(o -> o.key().equals(s)).map(o -> "[" + o.section() + "] " + s).toList();
                throw new ConfigException("unknown option " + s + " (" + new Origin.File(path, sectionLine).from()
                        + "): every option belongs to a section"
                        + (like.isEmpty() ? "; the sections are " + String.join(", ", Options.sections())
                                : ": did you mean " + String.join(" or ", like) + "?"));
            }
            if (!Options.sections().contains(s)) {
                throw new ConfigException("unknown section [" + s + "] (" + new Origin.File(path, sectionLine).from()
                        + "): the sections are " + String.join(", ", Options.sections()));
            }
            for (Map.Entry<String, JsonNode> entry : section.getValue().properties()) {
                String name = s + "." + entry.getKey();
                Origin.File origin = new Origin.File(path, lines.lineOf(name));
                Option o = Options.find(s, entry.getKey()).orElseThrow(() -> new ConfigException(
                        "unknown option " + name + " (" + origin.from() + "): the options of [" + s + "] are "
                                + String.join(", ", Options.ALL.stream().filter(x -> x.section().equals(s)).map(Option::key).toList())));
                Object value;
                try {
                    value = o.type().fromToml(entry.getValue());
                } catch (Type.Rejected r) {
                    throw invalid(o, entry.getValue().toString(), origin, r);
                }
                settings.put(o, new Setting(o, value, origin));
            }
        }
    }

    private static Object parse(Option o, String text, Origin origin) {
        try {
            return o.type().parse(text);
        } catch (Type.Rejected r) {
            throw invalid(o, Type.quote(text), origin, r);
        }
    }

    private static ConfigException invalid(Option o, String shown, Origin origin, Type.Rejected r) {
        return new ConfigException("invalid value " + shown + " for " + o.name() + " (" + origin.from() + "): expected "
                + r.getMessage());
    }

    /** Parses "section.key=value" (the --set flag) into a flag value. */
    public static FlagValue parseAssignment(String flagName, String assignment) {
        int eq = assignment.indexOf('=');
        if (eq <= 0) {
            throw new ConfigException("invalid " + flagName + " " + Type.quote(assignment) + ": write SECTION.KEY=VALUE, e.g. io.engine=filechannel");
        }
        String name = assignment.substring(0, eq).trim();
        Option o = Options.byName(name).orElseThrow(() -> new ConfigException("unknown option " + name + " (from flag "
                + flagName + "): d4 config show lists every option"));
        return new FlagValue(o, flagName, assignment.substring(eq + 1));
    }

    public Setting setting(Option o) {
        return settings.get(o);
    }

    public Object value(Option o) {
        return settings.get(o).value();
    }

    public String string(Option o) {
        return (String) value(o);
    }

    public boolean bool(Option o) {
        return (Boolean) value(o);
    }

    public long number(Option o) {
        return (Long) value(o);
    }

    public Path path(Option o) {
        return optionalPath(o).orElseThrow();
    }

    public Optional<Path> optionalPath(Option o) {
        return ((Optional<?>) value(o)).map(Path.class::cast);
    }

    public List<String> list(Option o) {
        List<String> out = new ArrayList<>();
        for (Object s : (List<?>) value(o)) {
            out.add((String) s);
        }
        return out;
    }

    /** Every setting as "--set section.key=value" arguments: how a daemon child gets exactly this configuration. */
    public List<String> asSetArguments() {
        List<String> args = new ArrayList<>();
        for (Setting s : settings.values()) {
            args.add("--set");
            args.add(s.option().name() + "=" + s.option().type().format(s.value()));
        }
        return args;
    }
}

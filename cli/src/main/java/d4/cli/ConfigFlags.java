package d4.cli;

import d4.cli.config.Config;
import d4.cli.config.Host;
import d4.cli.config.Option;
import d4.cli.config.Options;
import d4.cli.config.Type;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * The command-line side of the option table: adds each option's flags to the commands that use it
 * (and all of them to {@code d4 config show}), plus --config FILE and the hidden --set
 * SECTION.KEY=VALUE, and turns what was given into the effective {@link Config}.
 */
final class ConfigFlags {
    static final String CONFIG = "--config";
    /** Sets any option: how a daemonizing d4 mount hands its exact configuration to the daemon it starts. */
    static final String SET = "--set";

    private ConfigFlags() {}

    /** Adds the flags to the subcommands of {@code root}; call once, before parsing. */
    static void install(CommandLine root) {
        install(root, "", new IdentityHashMap<>());
    }

    /** Subcommands are named with their parents' names: "volume list". */
    private static void install(CommandLine parent, String prefix, Map<CommandLine, Boolean> seen) {
        for (CommandLine sub : parent.getSubcommands().values()) {
            if (seen.put(sub, true) != null) {
                continue; // aliases map to the same CommandLine
            }
            String name = prefix + sub.getCommandName();
            if (name.equals("config")) {
                addTo(sub.getSubcommands().get("show").getCommandSpec(), o -> true);
                continue;
            }
            if (Options.ALL.stream().anyMatch(o -> o.commands().contains(name))) {
                addTo(sub.getCommandSpec(), o -> o.commands().contains(name));
            }
            install(sub, name + " ", seen);
        }
    }

    private static void addTo(CommandSpec spec, Predicate<Option> uses) {
        spec.addOption(OptionSpec.builder(CONFIG).paramLabel("FILE").type(String.class)
                .description("The TOML configuration file (default: $D4_CONFIG, else /etc/d4/d4.toml when it exists;"
                        + " /dev/null for none). See d4 config show.")
                .build());
        spec.addOption(OptionSpec.builder(SET).paramLabel("SECTION.KEY=VALUE").type(List.class)
                .auxiliaryTypes(String.class).hidden(true).description("Set any option.").build());
        for (Option o : Options.ALL) {
            if (o.flags().isEmpty() || !uses.test(o)) {
                continue;
            }
            String help = o.summary() + " Option " + o.name() + ", env " + o.envVar() + defaultHelp(o) + ".";
            OptionSpec.Builder b = OptionSpec.builder(o.flags().toArray(String[]::new)).description(help);
            switch (o.type()) {
                case Type.Bool _ -> b.arity("0").type(boolean.class);
                case Type.TextList _ -> b.type(List.class).auxiliaryTypes(String.class).splitRegex(",")
                        .paramLabel("OPT");
                case Type.Choice c -> b.type(String.class).paramLabel(String.join("|", c.values()));
                case Type.Int _ -> b.type(String.class).paramLabel(o.unit().isEmpty() ? "N" : o.unit().toUpperCase(Locale.ROOT));
                case Type.Listen _ -> b.type(String.class).paramLabel("HOST:PORT");
                default -> b.type(String.class).paramLabel(o.key().toUpperCase(Locale.ROOT));
            }
            spec.addOption(b.build());
        }
    }

    /** ", default X" for help, or "" when the default is empty (no user, no extra options). */
    private static String defaultHelp(Option o) {
        String text = switch (o.defaultValue()) {
            case Option.Fixed f -> o.type().format(f.value()) + (o.unit().isEmpty() ? "" : " " + o.unit());
            case Option.Computed c -> c.doc();
        };
        return text.isEmpty() ? "" : ", default " + text;
    }

    /** The effective configuration of the command that {@code spec} parsed; also applies log.level. */
    static Config load(CommandSpec spec) {
        ParseResult parsed = spec.commandLine().getParseResult();
        List<Config.FlagValue> flags = new ArrayList<>();
        for (OptionSpec os : parsed.matchedOptions()) {
            Optional<Option> o = Options.ALL.stream().filter(x -> x.flags().contains(os.longestName())).findFirst();
            if (o.isEmpty()) {
                continue;
            }
            String text = switch (o.get().type()) {
                case Type.Bool _ -> "true";
                case Type.TextList _ -> {
                    List<String> items = new ArrayList<>();
                    for (Object item : (List<?>) os.getValue()) {
                        items.add(item.toString());
                    }
                    yield String.join(",", items);
                }
                default -> os.getValue().toString();
            };
            flags.add(new Config.FlagValue(o.get(), o.get().flag(), text));
        }
        List<?> sets = parsed.matchedOptionValue(SET, List.of());
        for (Object assignment : sets) {
            flags.add(Config.parseAssignment(SET, assignment.toString()));
        }
        String file = parsed.matchedOptionValue(CONFIG, null);
        Config config = Config.load(new Config.Inputs(Optional.ofNullable(file).map(Path::of), flags, host()));
        Logging.setLevel(config.string(Options.LOG_LEVEL));
        return config;
    }

    static Host host() {
        int uid = Posix.getuid();
        return new Host(uid == 0, uid, System.getProperty("user.home"), System.getenv(), Host.SYSTEM_CONFIG);
    }
}

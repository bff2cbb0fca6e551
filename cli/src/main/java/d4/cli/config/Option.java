package d4.cli.config;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;

/**
 * One configuration option, defined once: {@code [section] key} in the TOML file, the environment
 * variable D4_SECTION_KEY, and optionally command-line flags.
 *
 * @param unit what a number counts ("seconds"), or "" when it is not a number of something
 * @param doc what the option does, in sentences (the first one is the flag's help)
 * @param flags the command-line flags that set it, the first being the one named in origins; may be empty
 * @param commands the commands that take those flags ("mount", "format", ...); d4 config show takes all
 */
public record Option(String section, String key, Type type, Default defaultValue, String unit, String doc,
        List<String> flags, Set<String> commands) {

    public Option {
        flags = List.copyOf(flags);
        commands = Set.copyOf(commands);
    }

    /** The default: a fixed value, or one computed from the host (documented by {@code doc}). */
    public sealed interface Default {
        Object valueFor(Host host);
    }

    public record Fixed(Object value) implements Default {
        @Override
        public Object valueFor(Host host) {
            return value;
        }
    }

    public record Computed(String doc, Function<Host, Object> compute) implements Default {
        @Override
        public Object valueFor(Host host) {
            return compute.apply(host);
        }
    }

    /** section.key, as messages and d4 config show name the option. */
    public String name() {
        return section + "." + key;
    }

    public String envVar() {
        return ("D4_" + section + "_" + key).toUpperCase(Locale.ROOT);
    }

    /** The flag named in origins and help, or null when the option has none. */
    public String flag() {
        return flags.isEmpty() ? null : flags.getFirst();
    }

    /** The default as documentation shows it: a TOML literal, or the computed default's description. */
    public String defaultDoc() {
        return switch (defaultValue) {
            case Fixed f -> type.toToml(f.value());
            case Computed c -> c.doc();
        };
    }

    /** The first sentence of the doc (a period followed by a capital: "e.g. allow_other" does not end one). */
    public String summary() {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\.\\s+(?=[A-Z])").matcher(doc);
        return m.find() ? doc.substring(0, m.start() + 1) : doc;
    }
}

package d4.cli.config;

import java.util.ArrayList;
import java.util.List;

/** The texts made from the option table: d4 config show, the commented defaults file, the reference. */
public final class ConfigText {
    private ConfigText() {}

    /** One line per option: {@code section.key = value  # origin}, after a comment naming the file read. */
    public static String show(Config config) {
        StringBuilder b = new StringBuilder();
        b.append("# configuration file: ").append(config.file().map(Object::toString).orElse("none")).append('\n');
        for (Config.Setting s : config.settings().values()) {
            b.append(s.option().name()).append(" = ").append(s.toml()).append("  # ")
                    .append(s.origin().describe()).append('\n');
        }
        return b.toString();
    }

    /** A TOML file setting every option to its default on this host, each with its documentation as comments. */
    public static String defaultsToml(Host host) {
        StringBuilder b = new StringBuilder();
        b.append("# d4 configuration file: every option, set to its default.\n");
        for (String line : wrap("d4 reads the file named by --config, else by $D4_CONFIG, else /etc/d4/d4.toml when it"
                + " exists. An environment variable D4_SECTION_KEY overrides the file, and a command-line flag overrides"
                + " both. Keep only the options you change: d4 config show prints every effective value and where it"
                + " came from.", 98)) {
            b.append("# ").append(line).append('\n');
        }
        String section = null;
        for (Option o : Options.ALL) {
            if (!o.section().equals(section)) {
                section = o.section();
                b.append("\n[").append(section).append("]\n");
            }
            b.append('\n');
            for (String line : wrap(o.doc(), 98)) {
                b.append("# ").append(line).append('\n');
            }
            for (String line : facts(o)) {
                b.append("# ").append(line).append('\n');
            }
            b.append(o.key()).append(" = ").append(o.type().toToml(o.defaultValue().valueFor(host))).append('\n');
        }
        return b.toString();
    }

    /** The Markdown reference of every option, as docs/operations.md contains it. */
    public static String reference() {
        StringBuilder b = new StringBuilder();
        String section = null;
        for (Option o : Options.ALL) {
            if (!o.section().equals(section)) {
                section = o.section();
                b.append("### [").append(section).append("]\n\n");
            }
            b.append("#### `").append(o.name()).append("`\n\n");
            for (String line : wrap(o.doc(), 100)) {
                b.append(line).append('\n');
            }
            b.append('\n');
            b.append("- allowed: ").append(o.type().allowed()).append('\n');
            b.append("- default: ").append(o.defaultValue() instanceof Option.Fixed
                    ? "`" + o.defaultDoc() + "`" : o.defaultDoc()).append('\n');
            if (!o.unit().isEmpty()) {
                b.append("- unit: ").append(o.unit()).append('\n');
            }
            b.append("- environment: `").append(o.envVar()).append("`\n");
            if (!o.flags().isEmpty()) {
                b.append("- flag: ").append(String.join(", ", o.flags().stream().map(f -> "`" + f + "`").toList()))
                        .append(" (d4 ").append(String.join(", d4 ", o.commands().stream().sorted().toList()))
                        .append(")\n");
            }
            b.append('\n');
        }
        return b.toString();
    }

    /** "Allowed: ... Unit: ... Default: ...", then "Environment: ... Flag: ..." on a line of its own. */
    private static List<String> facts(Option o) {
        StringBuilder b = new StringBuilder();
        b.append("Allowed: ").append(o.type().allowed()).append(".");
        if (!o.unit().isEmpty()) {
            b.append(" Unit: ").append(o.unit()).append(".");
        }
        b.append(" Default: ").append(o.defaultDoc()).append(".");
        List<String> lines = new ArrayList<>(wrap(b.toString(), 98));
        lines.add("Environment: " + o.envVar() + "." + (o.flags().isEmpty() ? "" : " Flag: " + String.join(", ", o.flags()) + "."));
        return lines;
    }

    /** Greedy word wrap at {@code width} characters. */
    static List<String> wrap(String text, int width) {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (String word : text.split(" ")) {
            if (!line.isEmpty() && line.length() + 1 + word.length() > width) {
                lines.add(line.toString());
                line.setLength(0);
            }
            if (!line.isEmpty()) {
                line.append(' ');
            }
            line.append(word);
        }
        if (!line.isEmpty()) {
            lines.add(line.toString());
        }
        return lines;
    }
}

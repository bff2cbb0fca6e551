package d4.cli.config;

import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The line where each table and key of a TOML text is defined, for error messages (the parser gives
 * lines for syntax errors only). Best effort: it understands [table] headers and bare or quoted,
 * possibly dotted, keys at the start of a line, which is how d4's files are written; a key it cannot
 * place has no line, and the message simply omits it.
 */
final class TomlLines {
    private static final Pattern HEADER = Pattern.compile("^\\s*\\[\\s*([^\\[\\]]+?)\\s*\\]\\s*(#.*)?$");
    private static final Pattern KEY = Pattern.compile("^\\s*([A-Za-z0-9_\\-.\"' ]+?)\\s*=");

    private final Map<String, Integer> lines = new HashMap<>();

    TomlLines(String text) {
        String table = "";
        String[] all = text.split("\n", -1);
        for (int i = 0; i < all.length; i++) {
            Matcher h = HEADER.matcher(all[i]);
            if (h.matches()) {
                table = normalize(h.group(1));
                lines.putIfAbsent(table, i + 1);
                continue;
            }
            Matcher k = KEY.matcher(all[i]);
            if (k.find()) {
                String key = normalize(k.group(1));
                String full = table.isEmpty() ? key : table + "." + key;
                lines.putIfAbsent(full, i + 1);
                // a dotted key also defines its tables: a.b = 1 defines table a
                for (int dot = full.indexOf('.'); dot > 0; dot = full.indexOf('.', dot + 1)) {
                    lines.putIfAbsent(full.substring(0, dot), i + 1);
                }
            }
        }
    }

    /** The line (from 1) of a dotted name such as "io" or "io.engine", if known. */
    OptionalInt lineOf(String dottedName) {
        Integer line = lines.get(dottedName);
        return line == null ? OptionalInt.empty() : OptionalInt.of(line);
    }

    private static String normalize(String key) {
        StringBuilder b = new StringBuilder();
        for (String part : key.split("\\.")) {
            String p = part.trim();
            if (p.length() >= 2 && (p.startsWith("\"") && p.endsWith("\"") || p.startsWith("'") && p.endsWith("'"))) {
                p = p.substring(1, p.length() - 1);
            }
            if (!b.isEmpty()) {
                b.append('.');
            }
            b.append(p);
        }
        return b.toString();
    }
}

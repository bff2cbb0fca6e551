package d4.cli.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The type of an option: how its value is read from text (an environment variable, a flag) and from
 * the TOML file, how it is written back, and what is allowed. A value that does not fit throws
 * {@link Rejected}, whose message says what is allowed ("expected one of io_uring, filechannel").
 *
 * <p>Java representation of values: {@link Text} and {@link Choice} String, {@link FilePath}
 * Optional&lt;Path&gt; (empty only where the option allows it), {@link Bool} Boolean, {@link Int}
 * and {@link Size} Long, {@link TextList} List&lt;String&gt;.
 */
public sealed interface Type {

    /** Reads the text of an environment variable or a flag. */
    Object parse(String text);

    /** Reads a value of the TOML file. */
    Object fromToml(JsonNode node);

    /** The value as a TOML literal. */
    String toToml(Object value);

    /** The value as text that {@link #parse} reads back (for environment variables and --set). */
    String format(Object value);

    /** What is allowed, as the end of "expected ...". */
    String allowed();

    /** A value that does not fit the type: the message is what is allowed. */
    final class Rejected extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Rejected(String expected) {
            super(expected, null, false, false);
        }
    }

    /** A type whose values are strings: a TOML string, read with {@link #parse}, written quoted. */
    sealed interface Textual extends Type {
        @Override
        default Object fromToml(JsonNode node) {
            if (!node.isTextual()) {
                throw new Rejected(allowed());
            }
            return parse(node.textValue());
        }

        @Override
        default String toToml(Object value) {
            return quote((String) value);
        }

        @Override
        default String format(Object value) {
            return (String) value;
        }
    }

    /** Any string; "" usually means "not set" (see the option's doc). */
    record Text() implements Textual {
        @Override
        public Object parse(String text) {
            return text;
        }

        @Override
        public String allowed() {
            return "a string";
        }
    }

    /**
     * A path. In the TOML file it must be absolute; from a flag or the environment a relative path is
     * taken from the current directory. {@code optional}: "" means "not set" (Optional.empty()).
     */
    record FilePath(boolean optional) implements Type {
        @Override
        public Object parse(String text) {
            if (text.isEmpty()) {
                if (optional) {
                    return Optional.empty();
                }
                throw new Rejected(allowed());
            }
            return Optional.of(Path.of(text).toAbsolutePath().normalize());
        }

        @Override
        public Object fromToml(JsonNode node) {
            if (!node.isTextual()) {
                throw new Rejected(allowed());
            }
            String text = node.textValue();
            if (text.isEmpty() && optional) {
                return Optional.empty();
            }
            if (!text.startsWith("/")) {
                throw new Rejected(allowed());
            }
            return Optional.of(Path.of(text).normalize());
        }

        @Override
        public String toToml(Object value) {
            return quote(format(value));
        }

        @Override
        public String format(Object value) {
            return ((Optional<?>) value).map(Object::toString).orElse("");
        }

        @Override
        public String allowed() {
            return optional ? "an absolute path, or \"\" for the default" : "an absolute path";
        }
    }

    /** true or false. */
    record Bool() implements Type {
        @Override
        public Object parse(String text) {
            return switch (text.trim().toLowerCase(Locale.ROOT)) {
                case "true" -> true;
                case "false" -> false;
                default -> throw new Rejected(allowed());
            };
        }

        @Override
        public Object fromToml(JsonNode node) {
            if (!node.isBoolean()) {
                throw new Rejected(allowed() + " (a TOML boolean, without quotes)");
            }
            return node.booleanValue();
        }

        @Override
        public String toToml(Object value) {
            return value.toString();
        }

        @Override
        public String format(Object value) {
            return value.toString();
        }

        @Override
        public String allowed() {
            return "true or false";
        }
    }

    /** A whole number from min to max. */
    record Int(long min, long max) implements Type {
        @Override
        public Object parse(String text) {
            long v;
            try {
                v = Long.parseLong(text.trim());
            } catch (NumberFormatException e) {
                throw new Rejected(allowed());
            }
            return check(v);
        }

        @Override
        public Object fromToml(JsonNode node) {
            if (!node.isIntegralNumber() || !node.canConvertToLong()) {
                throw new Rejected(allowed());
            }
            return check(node.longValue());
        }

        private Long check(long v) {
            if (v < min || v > max) {
                throw new Rejected(allowed());
            }
            return v;
        }

        @Override
        public String toToml(Object value) {
            return value.toString();
        }

        @Override
        public String format(Object value) {
            return value.toString();
        }

        @Override
        public String allowed() {
            return "an integer from " + min + " to " + max;
        }
    }

    /** A size in bytes, written 64G, 512M, 1T or a number of bytes; at least min. */
    record Size(long min) implements Type {
        @Override
        public Object parse(String text) {
            long v;
            try {
                v = ByteSize.parse(text);
            } catch (IllegalArgumentException e) {
                throw new Rejected(allowed());
            }
            if (v < min) {
                throw new Rejected(allowed());
            }
            return v;
        }

        @Override
        public Object fromToml(JsonNode node) {
            if (node.isTextual()) {
                return parse(node.textValue());
            }
            if (node.isIntegralNumber() && node.canConvertToLong() && node.longValue() >= min) {
                return node.longValue();
            }
            throw new Rejected(allowed());
        }

        @Override
        public String toToml(Object value) {
            return quote(format(value));
        }

        @Override
        public String format(Object value) {
            return ByteSize.formatExact((Long) value);
        }

        @Override
        public String allowed() {
            return "a size of at least " + ByteSize.formatExact(min) + " such as \"512M\", \"64G\" or \"1T\"";
        }
    }

    /** One of a fixed set of names (case-insensitive; the canonical spelling is the one listed). */
    record Choice(List<String> values) implements Textual {
        public Choice {
            values = List.copyOf(values);
        }

        @Override
        public Object parse(String text) {
            String t = text.trim();
            for (String v : values) {
                if (v.equalsIgnoreCase(t)) {
                    return v;
                }
            }
            throw new Rejected(allowed());
        }

        @Override
        public String allowed() {
            return "one of " + String.join(", ", values);
        }
    }

    /** A list of strings: a TOML array; from a flag or the environment, comma-separated. */
    record TextList() implements Type {
        @Override
        public Object parse(String text) {
            List<String> out = new ArrayList<>();
            for (String s : text.split(",")) {
                if (!s.isBlank()) {
                    out.add(s.trim());
                }
            }
            return List.copyOf(out);
        }

        @Override
        public Object fromToml(JsonNode node) {
            if (!node.isArray()) {
                throw new Rejected(allowed());
            }
            List<String> out = new ArrayList<>();
            for (JsonNode e : node) {
                if (!e.isTextual()) {
                    throw new Rejected(allowed());
                }
                out.add(e.textValue());
            }
            return List.copyOf(out);
        }

        @Override
        public String toToml(Object value) {
            List<String> quoted = new ArrayList<>();
            for (Object s : (List<?>) value) {
                quoted.add(quote((String) s));
            }
            return "[" + String.join(", ", quoted) + "]";
        }

        @Override
        public String format(Object value) {
            List<String> items = new ArrayList<>();
            for (Object s : (List<?>) value) {
                items.add((String) s);
            }
            return String.join(",", items);
        }

        @Override
        public String allowed() {
            return "an array of strings such as [\"allow_other\"] (comma-separated in a flag or variable)";
        }
    }

    /**
     * Where to listen: HOST:PORT (HOST a name or an IPv4 address, or [IPv6]:PORT), or "" for
     * nowhere. The value is the text as given, trimmed.
     */
    record Listen() implements Textual {
        @Override
        public Object parse(String text) {
            String t = text.trim();
            if (t.isEmpty()) {
                return "";
            }
            int colon = t.lastIndexOf(':');
            if (colon <= 0 || colon == t.length() - 1) {
                throw new Rejected(allowed());
            }
            String host = t.substring(0, colon);
            if (host.startsWith("[") != host.endsWith("]") || host.contains(" ")
                    || (!host.startsWith("[") && host.contains(":"))) {
                throw new Rejected(allowed());
            }
            int port;
            try {
                port = Integer.parseInt(t.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new Rejected(allowed());
            }
            if (port < 1 || port > 65535) {
                throw new Rejected(allowed());
            }
            return t;
        }

        @Override
        public String allowed() {
            return "HOST:PORT such as \"127.0.0.1:9464\" or \"[::1]:9464\" (port 1 to 65535), or \"\" for none";
        }

        /** The host part of a listen value, without IPv6 brackets. */
        public static String host(String value) {
            String h = value.substring(0, value.lastIndexOf(':'));
            return h.startsWith("[") ? h.substring(1, h.length() - 1) : h;
        }

        /** The port of a listen value. */
        public static int port(String value) {
            return Integer.parseInt(value.substring(value.lastIndexOf(':') + 1));
        }
    }

    /**
     * A TOML basic string; its escapes (\", \\, \n, \t, \r, \\uXXXX) are JSON's too, so the JSON
     * of d4 status uses it as well.
     */
    public static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '\r' -> b.append("\\r");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        b.append(String.format(Locale.ROOT, "\\u%04X", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}

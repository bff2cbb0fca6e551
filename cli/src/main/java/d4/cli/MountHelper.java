package d4.cli;

import d4.cli.config.Options;
import d4.cli.config.Type;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * mount(8)'s helper protocol, translated into a {@code d4 mount} command line. mount(8) and
 * /etc/fstab lines of type {@code fuse.d4} (or {@code d4}) run
 * {@code /sbin/mount.fuse.d4 POOL MOUNTPOINT [-s] [-f] [-n] [-v] [-o OPTIONS] [-t TYPE]}.
 *
 * <p>In OPTIONS, a d4 option is written as its {@code d4 mount} flag without the dashes and with
 * '_' for '-' ({@code data_dir=/srv/d4}, {@code io_engine=filechannel}, {@code user=d4},
 * {@code fuse_threads=4}, ...), plus {@code config=FILE}. mount(8)'s and systemd's own options
 * ({@code defaults}, {@code rw}, {@code noauto}, {@code nofail}, {@code _netdev}, {@code x-*}, ...) are
 * dropped; every other option goes to FUSE ({@code d4 mount -o}), e.g. {@code allow_other},
 * {@code ro}, {@code nosuid}.
 */
final class MountHelper {
    private MountHelper() {}

    /** What to run: {@code d4} with {@code mountArgs}; {@code fake}: mount -f, do nothing. */
    record Translation(List<String> mountArgs, boolean fake, boolean verbose) {}

    /** Options of mount(8), systemd or fstab that mean nothing to d4: accepted and dropped. */
    static final Set<String> DROPPED = Set.of("defaults", "rw", "auto", "noauto", "nofail", "_netdev", "user", "nouser",
            "users", "owner", "group", "sloppy");

    /** Dropped by prefix: systemd's x-systemd.*, any x-* userspace option, comment=. */
    static final List<String> DROPPED_PREFIXES = List.of("x-", "comment=");

    /** The d4 options an OPTIONS item can set, by their name there (data_dir), to their d4 mount flag (--data-dir). */
    static Map<String, String> d4Options() {
        Map<String, String> m = new LinkedHashMap<>();
        for (d4.cli.config.Option o : Options.ALL) {
            if (!o.commands().contains("mount") || o.type() instanceof Type.Bool) {
                continue; // a Bool (foreground) would keep mount(8) waiting forever
            }
            for (String flag : o.flags()) {
                if (flag.startsWith("--")) {
                    m.put(flag.substring(2).replace('-', '_'), flag);
                }
            }
        }
        m.put("config", ConfigFlags.CONFIG);
        return m;
    }

    static Translation translate(List<String> argv) {
        List<String> positional = new ArrayList<>();
        List<String> optionLists = new ArrayList<>();
        boolean fake = false;
        boolean verbose = false;
        for (int i = 0; i < argv.size(); i++) {
            String a = argv.get(i);
            switch (a) {
                case "-s", "-n" -> {} // sloppy, no mtab: nothing to do for d4
                case "-f" -> fake = true;
                case "-v" -> verbose = true;
                case "-o", "-t" -> {
                    if (i + 1 >= argv.size()) {
                        throw usage(a + " needs a value");
                    }
                    String value = argv.get(++i);
                    if (a.equals("-o")) {
                        optionLists.add(value);
                    } else if (!value.equals("fuse.d4") && !value.equals("d4")) {
                        throw usage("type " + value + " is not d4's (fuse.d4)");
                    }
                }
                default -> {
                    if (a.startsWith("-o") && a.length() > 2) {
                        optionLists.add(a.substring(2));
                    } else if (a.startsWith("-") && a.length() > 1) {
                        throw usage("unknown flag " + a);
                    } else {
                        positional.add(a);
                    }
                }
            }
        }
        if (positional.size() != 2) {
            throw usage("expected POOL MOUNTPOINT, got " + positional.size() + " argument" + (positional.size() == 1 ? "" : "s"));
        }
        String pool = positional.get(0);
        if (pool.startsWith("d4:")) {
            pool = pool.substring(3); // as mount(8) and df show a d4 mount: d4:POOL
        }
        if (pool.isEmpty() || pool.startsWith("/")) {
            throw usage("the source '" + positional.get(0) + "' must be a pool name (as in d4 format --pool NAME), not a path");
        }
        Map<String, String> known = d4Options();
        Map<String, String> d4 = new LinkedHashMap<>(); // flag -> value; the last one given wins
        List<String> fuse = new ArrayList<>();
        for (String list : optionLists) {
            for (String item : splitOptions(list)) {
                if (item.isEmpty() || DROPPED.contains(item) || DROPPED_PREFIXES.stream().anyMatch(item::startsWith)) {
                    continue;
                }
                int eq = item.indexOf('=');
                String name = eq < 0 ? item : item.substring(0, eq);
                if (name.equals("foreground")) {
                    throw usage("foreground cannot be used from mount(8), which would wait forever: for a foreground"
                            + " daemon use d4 mount --foreground (e.g. in a systemd service)");
                }
                if (known.containsKey(name)) {
                    if (eq < 0) {
                        throw usage("option " + name + " needs a value: " + name + "=VALUE");
                    }
                    String flag = known.get(name);
                    d4.remove(flag);
                    d4.put(flag, unquote(item.substring(eq + 1)));
                } else {
                    fuse.add(item);
                }
            }
        }
        List<String> args = new ArrayList<>(List.of("mount", "--pool", pool));
        d4.forEach((flag, value) -> {
            args.add(flag);
            args.add(value);
        });
        if (!fuse.isEmpty()) {
            args.add("-o");
            args.add(String.join(",", fuse));
        }
        args.add(positional.get(1));
        return new Translation(List.copyOf(args), fake, verbose);
    }

    /** Splits mount options at commas outside double quotes (libmount allows opt="a,b"). */
    static List<String> splitOptions(String list) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < list.length(); i++) {
            char c = list.charAt(i);
            if (c == '"') {
                quoted = !quoted;
                cur.append(c);
            } else if (c == ',' && !quoted) {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }

    private static String unquote(String v) {
        return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
    }

    static IllegalArgumentException usage(String what) {
        return new IllegalArgumentException("mount.fuse.d4: " + what
                + "; usage: mount.fuse.d4 POOL MOUNTPOINT [-o OPTIONS] (see d4 help mount-helper)");
    }
}

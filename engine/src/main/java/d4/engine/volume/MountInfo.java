package d4.engine.volume;

/** Lines of /proc/self/mountinfo, as far as device checks need them. */
final class MountInfo {
    private MountInfo() {}

    /** One mount: the st_dev of its file system (MAJOR:MINOR), where it is mounted, its type and source. */
    record Entry(String majorMinor, String mountPoint, String type, String source) {}

    /** Parses one line, or returns null for a line that does not look like mountinfo. */
    static Entry parse(String line) {
        String[] f = line.split(" ");
        int dash = line.indexOf(" - ");
        if (f.length < 5 || dash < 0) {
            return null;
        }
        String[] tail = line.substring(dash + 3).split(" ");
        if (tail.length < 2) {
            return null;
        }
        return new Entry(f[2], unescape(f[4]), unescape(tail[0]), unescape(tail[1]));
    }

    /** mountinfo (and /proc/swaps) escape space, tab, newline and backslash as \ooo. */
    static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}

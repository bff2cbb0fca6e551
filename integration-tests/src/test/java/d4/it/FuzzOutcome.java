package d4.it;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * What one op did on one side, in a form that is equal on both sides exactly when the behaviour
 * is: {@code text} holds the return value or errno and anything else printable (a file offset, a
 * listing), {@code data} the bytes read (compared exactly, reported by first differing offset),
 * {@code stats} the stat observations the op made (compared by {@link FuzzStat#diff}).
 */
record FuzzOutcome(String text, byte[] data, List<FuzzStat> stats) {
    static FuzzOutcome of(String text) {
        return new FuzzOutcome(text, null, List.of());
    }

    static FuzzOutcome ofRet(long r) {
        return of(ret(r));
    }

    FuzzOutcome withStat(FuzzStat st) {
        List<FuzzStat> s = new ArrayList<>(stats);
        s.add(st);
        return new FuzzOutcome(text, data, List.copyOf(s));
    }

    FuzzOutcome withData(byte[] bytes) {
        return new FuzzOutcome(text, bytes, stats);
    }

    FuzzOutcome withText(String more) {
        return new FuzzOutcome(text + more, data, stats);
    }

    /** A difference of this (d4's) outcome from ext4's, or null. */
    FuzzDiff diff(FuzzOutcome ext4) {
        if (!text.equals(ext4.text)) {
            return new FuzzDiff("result:" + kind(text) + "/" + kind(ext4.text), text, ext4.text);
        }
        if (!Arrays.equals(data, ext4.data)) {
            return new FuzzDiff("data", describeData(data, ext4.data), describeData(ext4.data, data));
        }
        for (int i = 0; i < Math.min(stats.size(), ext4.stats.size()); i++) {
            List<String> d = stats.get(i).diff(ext4.stats.get(i));
            if (!d.isEmpty()) {
                // The field names make the signature: the same field differing is the same class of bug.
                String fields = String.join(",", d.stream().map(s -> s.substring(0, s.indexOf(':'))).toList());
                return new FuzzDiff("stat." + fields, stats.get(i) + "  [" + String.join("; ", d) + "]",
                        ext4.stats.get(i).toString());
            }
        }
        return null;
    }

    /**
     * What a result is, for telling classes of difference apart: its errno's name, or "ok". So
     * EINVAL-instead-of-ENODATA and success-instead-of-EINVAL are two classes, while two different
     * byte counts are one.
     */
    static String kind(String resultText) {
        String first = resultText.split("[ ;]", 2)[0];
        return first.matches("E[A-Z0-9]+") ? first : "ok";
    }

    /** The bytes around the first difference, so that a report says what was read, not a hash. */
    static String describeData(byte[] mine, byte[] other) {
        if (mine == null) {
            return "no data";
        }
        int first = Arrays.mismatch(mine, other == null ? new byte[0] : other);
        if (first < 0) {
            return mine.length + " bytes, equal";
        }
        int from = Math.max(0, first - 4);
        int to = Math.min(mine.length, first + 12);
        StringBuilder hex = new StringBuilder();
        for (int i = from; i < to; i++) {
            hex.append(String.format("%02x", mine[i] & 0xff)).append(i == first - 1 ? " |" : " ");
        }
        return mine.length + " bytes, first difference at byte " + first + ": ..." + hex.toString().trim() + "...";
    }

    @Override
    public String toString() {
        return text + (data == null ? "" : " <" + data.length + " bytes>") + (stats.isEmpty() ? "" : " " + stats);
    }

    private static final Map<Integer, String> ERRNO = Map.ofEntries(Map.entry(1, "EPERM"), Map.entry(2, "ENOENT"),
            Map.entry(4, "EINTR"), Map.entry(5, "EIO"), Map.entry(6, "ENXIO"), Map.entry(7, "E2BIG"), Map.entry(9, "EBADF"),
            Map.entry(11, "EAGAIN"), Map.entry(13, "EACCES"), Map.entry(16, "EBUSY"), Map.entry(17, "EEXIST"),
            Map.entry(18, "EXDEV"), Map.entry(19, "ENODEV"), Map.entry(20, "ENOTDIR"), Map.entry(21, "EISDIR"),
            Map.entry(22, "EINVAL"), Map.entry(26, "ETXTBSY"), Map.entry(27, "EFBIG"), Map.entry(28, "ENOSPC"),
            Map.entry(29, "ESPIPE"), Map.entry(30, "EROFS"), Map.entry(31, "EMLINK"), Map.entry(34, "ERANGE"),
            Map.entry(35, "EDEADLK"), Map.entry(36, "ENAMETOOLONG"), Map.entry(37, "ENOLCK"), Map.entry(38, "ENOSYS"),
            Map.entry(39, "ENOTEMPTY"), Map.entry(40, "ELOOP"), Map.entry(61, "ENODATA"), Map.entry(75, "EOVERFLOW"),
            Map.entry(95, "EOPNOTSUPP"), Map.entry(107, "ENOTCONN"), Map.entry(122, "EDQUOT"));

    /** A return value: the number, or the errno's name for a negative one. */
    static String ret(long r) {
        return r >= 0 ? Long.toString(r) : ERRNO.getOrDefault((int) -r, "errno" + -r);
    }
}

package d4.it;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which ops the generator may use: everything but the excluded families and single ops, written
 * as in {@code -Dd4.fuzz.exclude=xattr,fallocate,op:link} (family names as in {@link FuzzFamily};
 * {@code op:} plus a {@link FuzzOp} record name, any case; "none" for nothing). Excluding an op
 * only stops the generator from making it: no comparison is relaxed.
 */
record FuzzMix(Set<FuzzFamily> families, Set<String> ops) {
    /**
     * The default: leaves out what docs/semantics.md lists as differing for reasons of libfuse 2,
     * each pinned by a known-difference regression in DiffFuzzIT: renameat2 flags; hard links
     * ({@code op:link}: each name is its own kernel inode, with its own page cache, locks and size);
     * and opening anything but regular files ({@code op:opendir}: an open directory or FIFO does not
     * survive its removal). Run with {@code -Dd4.fuzz.exclude=none} to include them.
     */
    static final FuzzMix DEFAULT = new FuzzMix(FuzzFamily.NOT_YET_IMPLEMENTED, Set.of("link", "opendir"));

    static FuzzMix parse(String list) {
        Set<FuzzFamily> families = EnumSet.noneOf(FuzzFamily.class);
        Set<String> ops = new TreeSet<>();
        for (String part : list.split(",")) {
            String name = part.trim().toLowerCase(Locale.ROOT);
            if (name.startsWith("op:")) {
                ops.add(name.substring(3));
            } else if (!name.isEmpty() && !name.equals("none")) {
                families.addAll(FuzzFamily.parse(name));
            }
        }
        return new FuzzMix(families, ops);
    }

    boolean excludes(FuzzFamily family) {
        return families.contains(family);
    }

    boolean excludes(FuzzFamily family, String opName) {
        return families.contains(family) || ops.contains(opName.toLowerCase(Locale.ROOT));
    }

    /** The form {@link #parse} reads. */
    @Override
    public String toString() {
        List<String> out = new ArrayList<>();
        families.forEach(f -> out.add(f.name().toLowerCase(Locale.ROOT)));
        ops.forEach(o -> out.add("op:" + o));
        return out.isEmpty() ? "none" : String.join(",", out);
    }
}

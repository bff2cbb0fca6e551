package d4.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** Reads /proc/self/mountinfo: is a path a mount point, and of which file system type. */
final class MountTable {
    private MountTable() {}

    /** The file system type mounted exactly at {@code mountPoint} (e.g. "fuse.d4"), if any. */
    static Optional<String> typeAt(Path mountPoint) {
        String target = mountPoint.toAbsolutePath().normalize().toString();
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/self/mountinfo"));
        } catch (IOException e) {
            return Optional.empty();
        }
        String found = null;
        for (String line : lines) {
            String[] f = line.split(" ");
            int dash = line.indexOf(" - ");
            if (f.length < 5 || dash < 0) {
                continue;
            }
            if (unescape(f[4]).equals(target)) {
                found = line.substring(dash + 3).split(" ")[0]; // the last mount at a path is the visible one
            }
        }
        return Optional.ofNullable(found);
    }

    static boolean isD4(Path mountPoint) {
        return typeAt(mountPoint).filter(t -> t.equals("fuse.d4")).isPresent();
    }

    /** mountinfo escapes space, tab, newline and backslash as \\ooo. */
    static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}

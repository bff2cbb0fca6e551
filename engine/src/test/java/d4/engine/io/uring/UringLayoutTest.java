package d4.engine.io.uring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checks the hand-written layouts and constants against the C compiler's view of the installed
 * liburing headers: a generated C program prints sizeof/offsetof for every named member of every
 * layout and the value of every constant in liburing_h. Skipped where gcc or the headers are missing.
 */
class UringLayoutTest {
    private static final Map<String, StructLayout> STRUCTS = new LinkedHashMap<>();

    static {
        STRUCTS.put("io_uring", io_uring.layout());
        STRUCTS.put("io_uring_sq", io_uring_sq.layout());
        STRUCTS.put("io_uring_cq", io_uring_cq.layout());
        STRUCTS.put("io_uring_sqe", io_uring_sqe.layout());
        STRUCTS.put("io_uring_cqe", io_uring_cqe.layout());
        STRUCTS.put("io_uring_params", io_uring_params.layout());
        STRUCTS.put("io_sqring_offsets", io_sqring_offsets.layout());
        STRUCTS.put("io_cqring_offsets", io_cqring_offsets.layout());
        STRUCTS.put("iovec", iovec.layout());
    }

    @TempDir
    Path dir;

    @Test
    void sizesAreTheMeasuredOnes() {
        assertEquals(216, io_uring.sizeof());
        assertEquals(104, io_uring_sq.sizeof());
        assertEquals(88, io_uring_cq.sizeof());
        assertEquals(64, io_uring_sqe.sizeof());
        assertEquals(16, io_uring_cqe.sizeof());
        assertEquals(120, io_uring_params.sizeof());
        assertEquals(16, iovec.sizeof());
    }

    @Test
    void layoutsAndConstantsMatchTheCompiler() throws Exception {
        assumeTrue(Files.exists(Path.of("/usr/include/liburing.h")), "liburing-dev not installed");
        Path gcc = Stream.of("/usr/bin/gcc", "/usr/bin/cc").map(Path::of).filter(Files::isExecutable).findFirst()
                .orElse(null);
        assumeTrue(gcc != null, "no C compiler");

        Map<String, Long> expected = new LinkedHashMap<>();
        StringBuilder c = new StringBuilder("""
                #define _GNU_SOURCE
                #include <liburing.h>
                #include <stddef.h>
                #include <stdio.h>
                int main(void) {
                """);
        for (Map.Entry<String, StructLayout> s : STRUCTS.entrySet()) {
            String struct = s.getKey();
            expected.put("sizeof " + struct, s.getValue().byteSize());
            c.append("  printf(\"sizeof %s %lld\\n\", \"").append(struct).append("\", (long long) sizeof(struct ")
                    .append(struct).append("));\n");
            Map<String, Long> members = new LinkedHashMap<>();
            collect(s.getValue(), 0, members);
            for (Map.Entry<String, Long> m : members.entrySet()) {
                String key = struct + "." + m.getKey();
                expected.put(key, m.getValue());
                c.append("  printf(\"%s %lld\\n\", \"").append(key).append("\", (long long) offsetof(struct ")
                        .append(struct).append(", ").append(m.getKey()).append("));\n");
            }
        }
        for (Method m : liburing_h.class.getDeclaredMethods()) {
            String name = m.getName();
            if (Modifier.isPublic(m.getModifiers()) && m.getParameterCount() == 0
                    && (name.startsWith("IORING_") || name.startsWith("IOSQE_") || name.startsWith("LIBURING_"))) {
                expected.put(name, ((Number) m.invoke(null)).longValue());
                c.append("  printf(\"%s %lld\\n\", \"").append(name).append("\", (long long) (")
                        .append(name).append("));\n");
            }
        }
        c.append("  printf(\"sizeof cpu_set_t %lld\\n\", (long long) sizeof(cpu_set_t));\n");
        expected.put("sizeof cpu_set_t", (long) CpuAffinity.CPU_SET_BYTES);
        for (String flag : List.of("O_RDONLY", "O_WRONLY", "O_RDWR", "O_CREAT", "O_EXCL", "O_TRUNC", "O_DIRECT",
                "O_CLOEXEC", "EPERM", "ENOENT", "EINTR", "EBADF", "EAGAIN", "ENOMEM", "EBUSY", "EINVAL", "ENOSYS",
                "ETIME")) {
            expected.put(flag, (long) Libc.class.getField(flag).getInt(null));
            c.append("  printf(\"%s %lld\\n\", \"").append(flag).append("\", (long long) (").append(flag)
                    .append("));\n");
        }
        c.append("  return 0;\n}\n");

        Path src = Files.writeString(dir.resolve("layout.c"), c);
        Path exe = dir.resolve("layout");
        run(List.of(gcc.toString(), "-o", exe.toString(), src.toString()));
        Map<String, Long> actual = new LinkedHashMap<>();
        for (String line : run(List.of(exe.toString())).split("\n")) {
            int sp = line.lastIndexOf(' ');
            actual.put(line.substring(0, sp), Long.parseLong(line.substring(sp + 1)));
        }
        assertTrue(expected.size() > 100, "checked " + expected.size() + " items");
        assertEquals(expected, actual);
    }

    /** Named members (and their offsets), descending into the $anon$ unions/structs jextract hoists. */
    private static void collect(GroupLayout group, long base, Map<String, Long> out) {
        long offset = 0;
        for (MemoryLayout member : group.memberLayouts()) {
            long at = base + (group instanceof StructLayout ? offset : 0);
            String name = member.name().orElse("");
            if (name.startsWith("$anon$") && member instanceof GroupLayout inner) {
                collect(inner, at, out);
            } else if (!name.isEmpty()) {
                out.put(name, at);
            }
            offset += member.byteSize();
        }
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out: " + command);
        assertEquals(0, p.exitValue(), () -> command + ":\n" + out);
        return out;
    }
}

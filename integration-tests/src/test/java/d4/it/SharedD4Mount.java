package d4.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Resolves a {@link Mount} parameter to one d4 mount shared by every class of the test run that asks
 * for it (the Posix*IT classes, each working in its own directory of it).
 *
 * <p>Why shared: a mount and an umount cost about 5 s (two CLI JVMs, the daemon's start and its
 * final sync); a dozen conformance classes would spend a minute on them alone. The mount lives in
 * JUnit's root store, which closes it (unmount, kill the daemon, delete the pool) when the run ends,
 * also after failures. It is made with allow_other, so that the tests' child processes running as
 * another user can reach it at all (FUSE refuses every other uid otherwise).
 */
final class SharedD4Mount implements ParameterResolver {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(SharedD4Mount.class);

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == Mount.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        return context.getRoot().getStore(NAMESPACE).getOrComputeIfAbsent(Shared.class, k -> Shared.start(), Shared.class)
                .mount;
    }

    /** The mount and the directory holding its pool, run dir and mount point. */
    private static final class Shared implements AutoCloseable {
        final Path base;
        final Mount mount;

        private Shared(Path base, Mount mount) {
            this.base = base;
            this.mount = mount;
        }

        static Shared start() {
            try {
                Path base = Files.createTempDirectory("d4-posix-");
                // Other users must be able to walk down to the mount point (createTempDirectory makes 0700).
                if (Sys.chmod(base.toString(), 0755) != 0) {
                    throw new IOException("chmod " + base);
                }
                Shared shared = new Shared(base, new Mount(base, "-o", "allow_other"));
                try {
                    shared.mount.mount();
                } catch (Throwable t) {
                    shared.close(); // a half-started daemon must not outlive the run
                    throw t;
                }
                return shared;
            } catch (Exception e) {
                throw new IllegalStateException("could not mount d4 for the conformance tests", e);
            }
        }

        @Override
        public void close() throws IOException {
            try {
                mount.close();
            } finally {
                if (!mount.isMounted()) { // never delete through a mount that is still there
                    try (Stream<Path> all = Files.walk(base)) {
                        for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                            Files.deleteIfExists(p);
                        }
                    }
                }
            }
        }
    }
}

package d4.cli.config;

import java.nio.file.Path;
import java.util.OptionalInt;

/** Where the value of an option came from. */
public sealed interface Origin {
    /** As {@code d4 config show} prints it: default, file PATH, env NAME, flag NAME. */
    String describe();

    /** As error messages name it: "from file /etc/d4/d4.toml line 3", "from env D4_IO_ENGINE". */
    default String from() {
        return "from " + describe();
    }

    record Default() implements Origin {
        @Override
        public String describe() {
            return "default";
        }
    }

    record File(Path path, OptionalInt line) implements Origin {
        @Override
        public String describe() {
            return "file " + path;
        }

        @Override
        public String from() {
            return "from file " + path + (line.isPresent() ? " line " + line.getAsInt() : "");
        }
    }

    record Env(String name) implements Origin {
        @Override
        public String describe() {
            return "env " + name;
        }
    }

    record Flag(String name) implements Origin {
        @Override
        public String describe() {
            return "flag " + name;
        }
    }
}

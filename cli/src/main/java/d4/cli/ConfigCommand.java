package d4.cli;

import d4.cli.config.ConfigText;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "config",
        mixinStandardHelpOptions = true,
        description = {
            "Show d4's configuration. Every option can be set, in rising precedence, by its default, the",
            "TOML file (--config FILE, else $D4_CONFIG, else /etc/d4/d4.toml when it exists), an environment",
            "variable D4_SECTION_KEY ([io] engine is D4_IO_ENGINE) and a command-line flag (--io-engine)."
        },
        subcommands = {ConfigCommand.Show.class, ConfigCommand.Reference.class})
final class ConfigCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "give a subcommand, e.g. d4 config show");
    }

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            description = {
                "Print every effective option as 'section.key = value  # origin', the origin being default,",
                "file PATH, env NAME or flag NAME. Takes every option's flag, to show its effect.",
                "With --defaults, print a commented TOML file of every option set to its default instead",
                "(a starting point for /etc/d4/d4.toml)."
            })
    static final class Show implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--defaults", description = "Print a commented TOML file of every option at its default.")
        boolean defaults;

        @Override
        public Integer call() {
            if (defaults) {
                System.out.print(ConfigText.defaultsToml(ConfigFlags.host()));
            } else {
                System.out.print(ConfigText.show(ConfigFlags.load(spec)));
            }
            return 0;
        }
    }

    @Command(
            name = "reference",
            mixinStandardHelpOptions = true,
            description = {"Print the reference of every option in Markdown (the one in docs/operations.md)."})
    static final class Reference implements Callable<Integer> {
        @Override
        public Integer call() {
            System.out.print(ConfigText.reference());
            return 0;
        }
    }
}

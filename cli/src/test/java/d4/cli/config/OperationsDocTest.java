package d4.cli.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * docs/operations.md holds the configuration reference generated from the option table, between two
 * markers; this test fails when they differ. To regenerate it:
 * {@code mvn -B -o -pl cli test -Dtest=OperationsDocTest -Dd4.updateDocs=true}.
 */
class OperationsDocTest {
    static final String BEGIN = "<!-- BEGIN GENERATED CONFIGURATION REFERENCE: d4 config reference -->\n";
    static final String END = "<!-- END GENERATED CONFIGURATION REFERENCE -->\n";

    @Test
    void theReferenceInOperationsMdIsTheGeneratedOne() throws IOException {
        Path doc = Path.of("..", "docs", "operations.md").toAbsolutePath().normalize();
        String text = Files.readString(doc);
        int begin = text.indexOf(BEGIN);
        int end = text.indexOf(END);
        assertTrue(begin >= 0 && end > begin, doc + " must contain the markers " + BEGIN.trim() + " and " + END.trim());
        String current = text.substring(begin + BEGIN.length(), end);
        String generated = "\n" + ConfigText.reference();
        if (Boolean.getBoolean("d4.updateDocs")) {
            Files.writeString(doc, text.substring(0, begin + BEGIN.length()) + generated + text.substring(end));
            return;
        }
        assertEquals(generated, current, doc + ": the configuration reference differs from the option table"
                + " (d4.cli.config.Options). Regenerate it with: mvn -B -o -pl cli test -Dtest=OperationsDocTest"
                + " -Dd4.updateDocs=true");
    }
}

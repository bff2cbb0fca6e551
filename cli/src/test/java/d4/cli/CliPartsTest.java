package d4.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.cli.config.ByteSize;
import d4.engine.VolumeSpec;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class CliPartsTest {
    @Test
    void sizesAsAdminsWriteThem() {
        assertEquals(64L << 30, ByteSize.parse("64G"));
        assertEquals(512L << 20, ByteSize.parse("512M"));
        assertEquals(512L << 20, ByteSize.parse("512MiB"));
        assertEquals(1L << 40, ByteSize.parse("1t"));
        assertEquals(4096, ByteSize.parse("4096"));
        for (String bad : new String[] {"", "G", "lots", "-1G", "0", "99999999999P"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ByteSize.parse(bad), bad);
            assertTrue(e.getMessage().contains("invalid size"), e.getMessage());
        }
        assertEquals("1.5 GiB", ByteSize.format(3L << 29));
        assertEquals("100 B", ByteSize.format(100));
    }

    @Test
    void volumeArguments() {
        VolumeSpec v = FormatCommand.parseVolume("/srv/a.img:64G");
        assertEquals(Path.of("/srv/a.img"), v.path());
        assertEquals(64L << 30, v.sizeBytes());
        CommandFailure e = assertThrows(CommandFailure.class, () -> FormatCommand.parseVolume("/srv/a.img"));
        assertTrue(e.getMessage().contains("PATH:SIZE"), e.getMessage());
    }

    @Test
    void mountinfoEscapesAndSocketNames() {
        assertEquals("/mnt/with space", MountTable.unescape("/mnt/with\\040space"));
        assertEquals("/a\\b", MountTable.unescape("/a\\134b"));
        Path a = ControlSocket.pathFor(Path.of("/run/d4"), Path.of("/mnt/a"));
        assertEquals(a, ControlSocket.pathFor(Path.of("/run/d4"), Path.of("/mnt/./a")), "normalized");
        assertNotEquals(a, ControlSocket.pathFor(Path.of("/run/d4"), Path.of("/mnt/b")));
        assertTrue(a.toString().length() < 108, "fits sun_path");
    }

    @Test
    void jsonStringsAreEscaped() {
        assertEquals("\"a\\\"b\\\\c\\n\\u0001\"", MountStatus.str("a\"b\\c\n\u0001"));
    }
}

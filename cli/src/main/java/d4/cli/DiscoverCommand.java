package d4.cli;

import d4.cli.config.ByteSize;
import d4.engine.volume.Discovery;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "discover",
        mixinStandardHelpOptions = true,
        description = {
            "Find the d4 pools on this host's block devices (as mdadm --examine --scan).",
            "Scans the block devices (/sys/class/block, but RAM disks and devices under 64 MiB) for d4",
            "volumes and prints the pools they make up: name, UUID, each volume's index and device,",
            "and whether the pool is complete or which volumes are missing (as mdadm --examine --scan).",
            "A volume whose first block is damaged is found by the copy of its superblock in its last block.",
            "Volume files are not found this way: the data dir's registry lists them.",
            "d4 mount --pool NAME (or --pool UUID) assembles a pool found here when the registry does not",
            "know it. Reads only; needs root to read the devices."
        })
final class DiscoverCommand implements Callable<Integer> {
    @Option(names = "--json", description = "Print one JSON object: {\"pools\":[...],\"devices_scanned\":N,\"problems\":[...]}.")
    boolean json;

    @Override
    public Integer call() {
        Discovery.Scan scan = Discovery.scan();
        System.out.print(json ? toJson(scan) + "\n" : toText(scan));
        return 0;
    }

    static String toText(Discovery.Scan scan) {
        StringBuilder b = new StringBuilder();
        for (Discovery.FoundPool p : scan.pools()) {
            String state = p.complete() ? "complete"
                    : !p.conflicts().isEmpty() ? "CONFLICT"
                    : "INCOMPLETE: missing volume" + (p.missing().size() == 1 ? " " : "s ")
                            + String.join(", ", p.missing().stream().map(String::valueOf).toList());
            b.append("pool ").append(p.name()).append("  uuid ").append(p.uuid()).append("  ").append(p.volumeCount())
                    .append(p.volumeCount() == 1 ? " volume  " : " volumes  ").append(state).append('\n');
            for (int i = 0; i < p.volumeCount(); i++) {
                int index = i;
                List<Discovery.Member> ms = p.members().stream().filter(m -> m.index() == index).toList();
                if (ms.isEmpty()) {
                    b.append("  volume ").append(i).append("  missing\n");
                }
                for (Discovery.Member m : ms) {
                    b.append("  volume ").append(i).append("  ").append(m.device()).append("  ")
                            .append(ByteSize.format(m.sizeBytes()))
                            .append(m.fromCopy() ? "  (first superblock missing or damaged: found by its copy)" : "")
                            .append('\n');
                }
            }
            for (String c : p.conflicts()) {
                b.append("  conflict: ").append(c).append('\n');
            }
            if (p.complete()) {
                b.append("  mount it: d4 mount --pool ").append(p.name()).append(" MOUNTPOINT\n");
            }
        }
        for (String problem : scan.problems()) {
            b.append("could not read: ").append(problem).append('\n');
        }
        b.append(scan.pools().isEmpty() ? "no d4 pools" : scan.pools().size() + (scan.pools().size() == 1 ? " pool" : " pools"))
                .append(" found on ").append(scan.devicesScanned()).append(" block device")
                .append(scan.devicesScanned() == 1 ? "" : "s").append(" scanned")
                .append(!scan.problems().isEmpty() && Posix.getuid() != 0 ? " (run as root to read every device)" : "")
                .append('\n');
        return b.toString();
    }

    static String toJson(Discovery.Scan scan) {
        List<String> pools = new ArrayList<>();
        for (Discovery.FoundPool p : scan.pools()) {
            List<String> members = new ArrayList<>();
            for (Discovery.Member m : p.members()) {
                members.add("{\"index\":" + m.index() + ",\"device\":" + MountStatus.str(m.device().toString())
                        + ",\"volume_uuid\":" + MountStatus.str(m.volumeUuid().toString()) + ",\"size_bytes\":" + m.sizeBytes()
                        + ",\"superblock\":" + (m.fromCopy() ? "\"copy\"" : "\"primary\"") + "}");
            }
            pools.add("{\"name\":" + MountStatus.str(p.name()) + ",\"uuid\":" + MountStatus.str(p.uuid().toString())
                    + ",\"volume_count\":" + p.volumeCount() + ",\"complete\":" + p.complete()
                    + ",\"members\":[" + String.join(",", members) + "]"
                    + ",\"missing\":[" + String.join(",", p.missing().stream().map(String::valueOf).toList()) + "]"
                    + ",\"conflicts\":[" + String.join(",", p.conflicts().stream().map(MountStatus::str).toList()) + "]}");
        }
        return "{\"pools\":[" + String.join(",", pools) + "],\"devices_scanned\":" + scan.devicesScanned()
                + ",\"problems\":[" + String.join(",", scan.problems().stream().map(MountStatus::str).toList()) + "]}";
    }
}

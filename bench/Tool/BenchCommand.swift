import ArgumentParser

/// The measuring half of `make bench`: load generators and probes that must be
/// fast and share one clock. `bench/bench.py` starts the stack and the ceilings
/// (nginx, redis-benchmark, h2load) and drives these subcommands.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "beacon-bench",
        abstract: "Beacon's benchmark probes (run by bench/bench.py).",
        subcommands: [LatencyCommand.self, KafkaCeilingCommand.self, APNsStandInCommand.self, IMAPLoadCommand.self]
    )
}

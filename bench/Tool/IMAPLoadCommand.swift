import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `beacon-bench imap-load`: a plaintext IMAP server that speaks the subset
/// the pinger uses (LOGIN, AUTHENTICATE PLAIN, EXAMINE/SELECT, STATUS, IDLE,
/// NOOP, LOGOUT) and holds tens of thousands of sessions on one event loop,
/// which a real IMAP server (a process per session) cannot on this machine.
/// Any username logs in with the password `pw-<username>`.
///
/// It delivers new mail at `--rate` mails/s, round robin over the logged-in
/// mailboxes, from `--deliver-after` seconds on (or from a `deliver` line on
/// stdin), and writes one line per delivery to `--deliveries`:
/// `username uidValidity uidNext deliveredAtUnixNanos` (uidNext after it).
///
/// stdin lines: `deliver [RATE [SECONDS]]`, `stop` (deliveries), `flush`.
/// `--status` is rewritten every `--status-interval` seconds (JSON: port,
/// connections, loggedIn, idling, mailboxes, delivered, delivering), and is
/// first written once the server listens. SIGTERM or SIGINT: the counters as
/// JSON on stdout, then exit.
struct IMAPLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imap-load",
        abstract: "An IMAP IDLE stand-in for 10,000+ sessions that delivers mail at a fixed rate and records each delivery."
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port (0: any free port; see --status).") var port = 0
    @Option(help: "Status file (JSON), rewritten periodically.") var status: String?
    @Option(help: "Seconds between status writes (and a line on stderr every 5 of them).") var statusInterval = 1.0
    @Option(help: "File of deliveries, one a line: username uidValidity uidNext deliveredAtUnixNanos.") var deliveries: String?
    @Option(help: "New mails per second, spread round robin over the logged-in mailboxes.") var rate = 100.0
    @Option(help: "Start delivering this many seconds after listening (none: wait for `deliver` on stdin).") var deliverAfter: Double?
    @Option(help: "Stop delivering after this many seconds (0: until `stop`).") var deliverFor = 0.0
    @Option(help: "Messages every mailbox starts with.") var initialMessages = 3
    @Option(help: "Listen backlog (10,000 sessions connect at once).") var backlog: Int32 = 4_096

    func run() async throws {
        Self.raiseFileLimit()
        // One loop: every session's state is touched on it only, so the
        // server needs no locks, and one thread is plenty for IDLE sessions.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let recorder = try DeliveryRecorder(path: deliveries)
        let server = IMAPLoadServer(loop: loop, recorder: recorder, initialMessages: initialMessages)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: backlog)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
            // Small reads: a session's commands are a few bytes, and 10,000
            // default-sized receive buffers would be most of the memory.
            .childChannelOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 4_096))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(IMAPLineDecoder()))
                    try channel.pipeline.syncOperations.addHandler(IMAPLoadSession(server: server))
                }
            }
            .bind(host: host, port: port).get()
        let boundPort = channel.localAddress?.port ?? port
        server.port = boundPort

        let statusPath = status, interval = statusInterval
        let writeStatus = { @Sendable (log: Bool) in
            let snapshot = server.snapshot()
            if let statusPath { Self.writeAtomically(snapshot.json, to: statusPath) }
            if log { FileHandle.standardError.write(Data("imap-load: \(snapshot.line)\n".utf8)) }
        }
        try await loop.submit { writeStatus(false) }.get()
        FileHandle.standardOutput.write(Data("imap-load ready on \(host):\(boundPort)\n".utf8))
        let statusTask = loop.scheduleRepeatedTask(initialDelay: .milliseconds(Int64(interval * 1000)),
                                                   delay: .milliseconds(Int64(interval * 1000))) { _ in
            recorder.flush()
            writeStatus(server.tick() % max(1, Int(5 / interval)) == 0)
        }

        let rate = self.rate, deliverFor = self.deliverFor
        if let deliverAfter {
            loop.scheduleTask(in: .milliseconds(Int64(deliverAfter * 1000))) { server.startDelivering(rate: rate, seconds: deliverFor) }
        }
        Self.readControl(server: server, loop: loop, defaultRate: rate, defaultSeconds: deliverFor)

        await APNsStandInCommand.waitForTermination()
        let final = try await loop.submit { () -> String in
            server.stopDelivering()
            statusTask.cancel()
            recorder.flush()
            writeStatus(false)
            return server.snapshot().json
        }.get()
        try? await channel.close()
        FileHandle.standardOutput.write(Data((final + "\n").utf8))
        try await group.shutdownGracefully()
    }

    /// Control lines from stdin, on a thread of their own (reads block).
    static func readControl(server: IMAPLoadServer, loop: any EventLoop, defaultRate: Double, defaultSeconds: Double) {
        let thread = Thread {
            while let line = readLine() {
                let words = line.split(separator: " ").map(String.init)
                guard let verb = words.first?.lowercased() else { continue }
                switch verb {
                case "deliver":
                    let rate = words.count > 1 ? Double(words[1]) ?? defaultRate : defaultRate
                    let seconds = words.count > 2 ? Double(words[2]) ?? defaultSeconds : defaultSeconds
                    loop.execute { server.startDelivering(rate: rate, seconds: seconds) }
                case "stop": loop.execute { server.stopDelivering() }
                case "flush": loop.execute { server.recorder.flush() }
                default: FileHandle.standardError.write(Data("imap-load: unknown control line \(line)\n".utf8))
                }
            }
        }
        thread.start()
    }

    /// 10,000 sessions need 10,000 descriptors: the soft limit up to the hard one.
    static func raiseFileLimit() {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// Readers never see a half-written status.
    static func writeAtomically(_ text: String, to path: String) {
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data((text + "\n").utf8)) else { return }
        _ = rename(temporary, path)
    }
}

import BeaconCore
import Foundation
import Logging
import NIOCore

/// The channel end of the UDP intake: hands each datagram of a vector read to
/// the intake on the event loop, and what the read burst accepted to the
/// writer when it ends. It never closes the channel: no datagram,
/// however bad, and no socket error stops the others.
final class DatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let intake: DatagramIntake
    private let logger: Logger
    /// One receivedAt for all datagrams of a read burst: they arrived together.
    private var receivedAt: String?
    /// What the burst accepted so far, queued as one write when it ends.
    private var pending = PendingDatagrams()
    private var lastErrorLog: ContinuousClock.Instant?

    init(intake: DatagramIntake, logger: Logger) {
        self.intake = intake
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let stamp = receivedAt ?? Timestamp.iso8601(Date())
        receivedAt = stamp
        envelope.data.withUnsafeReadableBytes { bytes in
            intake.take(bytes, source: envelope.remoteAddress.ipAddress, receivedAt: stamp, into: &pending)
        }
        // A burst of big batches goes in parts, so that no one write outweighs the buffer.
        if pending.events.count >= Self.eventsPerWrite { flush() }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        receivedAt = nil
        flush()
    }

    /// About one writer pipeline's worth (`redis.pipelineEvents`' default).
    static let eventsPerWrite = 1_000

    private func flush() {
        intake.submit(pending)
        pending = PendingDatagrams()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // At most one line a second: a storm of errors must not become a storm of logs.
        let now = ContinuousClock.now
        if let last = lastErrorLog, now - last < .seconds(1) { return }
        lastErrorLog = now
        logger.warning("udp intake: socket error", metadata: ["error": "\(error)"])
    }
}

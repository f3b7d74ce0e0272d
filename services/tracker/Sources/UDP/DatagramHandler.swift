import BeaconCore
import Foundation
import Logging
import NIOCore

/// The channel end of the UDP intake: hands each datagram of a vector read to
/// the intake on the event loop. It never closes the channel: no datagram,
/// however bad, and no socket error stops the others.
final class DatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let intake: DatagramIntake
    private let logger: Logger
    /// One receivedAt for all datagrams of a read burst: they arrived together.
    private var receivedAt: String?
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
            intake.take(bytes, source: envelope.remoteAddress.ipAddress, receivedAt: stamp)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        receivedAt = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // At most one line a second: a storm of errors must not become a storm of logs.
        let now = ContinuousClock.now
        if let last = lastErrorLog, now - last < .seconds(1) { return }
        lastErrorLog = now
        logger.warning("udp intake: socket error", metadata: ["error": "\(error)"])
    }
}

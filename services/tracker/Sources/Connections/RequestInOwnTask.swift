import HummingbirdCore

/// Hummingbird answers every request of a connection inside that
/// connection's one long-lived task, and a Swift task keeps the stack slabs
/// its deepest call needed until it ends: after one request through the
/// router and the intake an idle keep-alive connection held about 26 KB of
/// them (heaptrack: swift::StackAllocator, debug build). Answering each
/// request in a child task of its own gives those slabs back when the
/// request is done; the connection's task keeps only the shallow stack of
/// waiting for the next request head.
enum RequestInOwnTask {
    static func responder(_ responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        { request, writer, channel in
            let handOver = ResponseWriterHandOver(writer)
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await responder(request, handOver.take(), channel) }
            }
        }
    }
}

/// Moves the (non-copyable) response writer into the child task.
private final class ResponseWriterHandOver: @unchecked Sendable {
    // Set once here, taken once by the child task: never touched concurrently.
    private var writer: ResponseWriter?

    init(_ writer: consuming ResponseWriter) {
        self.writer = consume writer
    }

    func take() -> ResponseWriter {
        writer.take()!
    }
}

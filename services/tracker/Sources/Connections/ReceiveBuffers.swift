import NIOCore

/// The receive buffers of a connection. NIO keeps each connection's last
/// receive buffer for the next read (NIOPooledRecvBufferAllocator), sized by
/// the adaptive allocator: with NIO's default first size (2,048 bytes) every
/// idle connection holds 2 KB. A 1 KB first size still takes a typical
/// single event (head and body) in one or two reads of the same cycle, and
/// the allocator still grows to 64 KB for large batches.
enum ReceiveBuffers {
    static let allocator = AdaptiveRecvByteBufferAllocator(minimum: 256, initial: 1_024, maximum: 65_536)
}

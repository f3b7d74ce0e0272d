import NIOPosix

/// Runs a blocking call (hiredis, libmongoc) from async code on NIO's
/// thread pool, so that a request handler never blocks a thread of Swift's
/// cooperative pool (two threads on a two-core machine).
public enum BlockingWork {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}

import AsyncHTTPClient
import BeaconCore
import NIOCore
import Synchronization

/// One AsyncHTTPClient per host and checked address. Each is told, with its
/// `dnsOverride`, to connect to the address the guard checked while it
/// still sends the host's name as `Host` and as the TLS server name (and
/// checks the certificate against it). A pool per host also keeps one slow
/// partner's connections from holding up another's. The least recently
/// used client is shut down past `capacity`.
final class HostClients: Sendable {
    struct Key: Hashable, Sendable {
        let host: String
        let address: String
    }

    private let capacity: Int
    private let configuration: @Sendable (Key) -> HTTPClient.Configuration
    private let state = Mutex<(clients: [Key: HTTPClient], order: [Key])>(([:], []))

    init(capacity: Int = 512, connectTimeout: Duration, hostConcurrency: Int) {
        self.capacity = capacity
        configuration = { key in
            var configuration = HTTPClient.Configuration(
                redirectConfiguration: .disallow,
                timeout: .init(connect: .nanoseconds(Int64(connectTimeout.wholeMilliseconds) * 1_000_000)),
                connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: hostConcurrency))
            if key.address != key.host { configuration.dnsOverride = [key.host: key.address] }
            configuration.decompression = .disabled
            return configuration
        }
    }

    func client(host: String, address: String) -> HTTPClient {
        let key = Key(host: host, address: address)
        let (client, evicted) = state.withLock { state -> (HTTPClient, HTTPClient?) in
            if let client = state.clients[key] {
                if let index = state.order.firstIndex(of: key) { state.order.remove(at: index) }
                state.order.append(key)
                return (client, nil)
            }
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration(key))
            state.clients[key] = client
            state.order.append(key)
            var evicted: HTTPClient?
            if state.order.count > capacity {
                let oldest = state.order.removeFirst()
                evicted = state.clients.removeValue(forKey: oldest)
            }
            return (client, evicted)
        }
        if let evicted { Task { try? await evicted.shutdown() } }
        return client
    }

    func shutdown() async {
        let clients = state.withLock { state in
            defer { state = ([:], []) }
            return Array(state.clients.values)
        }
        for client in clients { try? await client.shutdown() }
    }
}

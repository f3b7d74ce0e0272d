/// Everything that bounds the tracker's connections: how many, and how long
/// a client may take. Read from the settings, shared by every connection.
struct ConnectionBounds: Sendable {
    var maxConnections: Int
    var timeouts: ConnectionTimeouts
}

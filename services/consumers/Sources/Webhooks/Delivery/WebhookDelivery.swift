import AsyncHTTPClient
import BeaconCore
import Foundation
import NIOCore
import NIOHTTP1

/// Makes one call for a webhook request: checks the URL, resolves its host
/// once through the guard, connects to the checked address (`HostClients`),
/// signs (Standard Webhooks), sends, and reads at most `maxResponseBytes`.
/// Redirects are not followed: a 3xx is an answer like any other.
struct WebhookDelivery: Sendable {
    let clients: HostClients
    let resolver: any HostResolver
    let secrets: SigningSecrets
    let timeout: Duration
    let allowPrivate: Bool
    let maxResponseBytes: Int

    /// The host a request goes to (the breaker's and the limits' key), or
    /// nil for a URL that is not http(s) with a host.
    static func target(of url: String) -> (scheme: String, host: String, port: Int)? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = components.host, !host.isEmpty
        else { return nil }
        return (scheme, host, components.port ?? (scheme == "https" ? 443 : 80))
    }

    func call(_ request: WebhookRequest, attemptAt: Date) async -> WebhookCall {
        guard let target = Self.target(of: request.url) else {
            return WebhookCall(result: .refused("webhook URL is not an http(s) URL with a host"), host: "", latencyMs: nil)
        }
        // The name as written: AsyncHTTPClient looks its dnsOverride up by it.
        let hostKey = "\(target.host.lowercased()):\(target.port)"
        let address: String
        do throws(ServiceError) {
            guard let first = try resolver.resolve(target.host, allowPrivate: allowPrivate).first else {
                throw ServiceError.transient("webhook host \(target.host) has no address")
            }
            address = first
        } catch {
            let result: WebhookCall.Result = error.isPermanent ? .refused(error.message) : .unreachable(error.message)
            return WebhookCall(result: result, host: hostKey, latencyMs: nil)
        }
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        outgoing.headers.add(name: "User-Agent", value: "Beacon-Webhook/1")
        for header in request.headers { outgoing.headers.add(name: header.name, value: header.value) }
        let body = Array((request.body ?? "").utf8)
        let signature = WebhookSigner.headers(
            id: request.id, timestamp: Int(attemptAt.timeIntervalSince1970), body: body, secrets: secrets.keys(for: request.signingName))
        for (name, value) in signature { outgoing.headers.replaceOrAdd(name: name, value: value) }
        if request.body != nil { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        let client = clients.client(host: target.host, address: address)
        let started = ContinuousClock.now
        do {
            let response = try await client.execute(outgoing, timeout: .nanoseconds(Int64(timeout.wholeMilliseconds) * 1_000_000))
            var collected = ByteBuffer()
            var truncated = false
            // Read up to the bound, then stop: a partner cannot make the worker hold a huge answer.
            for try await chunk in response.body {
                var chunk = chunk
                let room = maxResponseBytes - collected.readableBytes
                if chunk.readableBytes > room {
                    if room > 0, let slice = chunk.readSlice(length: room) { collected.writeImmutableBuffer(slice) }
                    truncated = true
                    break
                }
                collected.writeBuffer(&chunk)
            }
            let latency = (ContinuousClock.now - started).inSeconds * 1000
            var text = String(decoding: collected.readableBytesView.prefix(WebhookAttempt.responseBodyLimit), as: UTF8.self)
            if truncated && collected.readableBytes <= WebhookAttempt.responseBodyLimit { text += "…" }
            let retryAfter = response.headers.first(name: "retry-after").flatMap(Self.retryAfter)
            return WebhookCall(result: .answered(status: Int(response.status.code), body: text, retryAfter: retryAfter), host: hostKey, latencyMs: latency)
        } catch {
            let latency = (ContinuousClock.now - started).inSeconds * 1000
            return WebhookCall(result: .unreachable("webhook call failed: \(error)"), host: hostKey, latencyMs: latency)
        }
    }

    /// `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3), capped at a day.
    static func retryAfter(_ value: String) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed) { return .seconds(min(max(seconds, 0), 86_400)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return .seconds(min(max(Int(date.timeIntervalSinceNow.rounded(.up)), 0), 86_400))
    }
}

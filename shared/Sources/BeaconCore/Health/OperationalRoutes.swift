import Foundation
import Hummingbird

/// `/healthz` (the process serves), `/readyz` (it can do its work) and
/// `/metrics` (Prometheus text), the same on every service.
public enum OperationalRoutes {
    public static func add<Context: RequestContext>(to router: Router<Context>, readiness: Readiness) {
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        router.get("/readyz") { _, _ in
            let failing = readiness.failing
            var body: [String: Any] = ["ready": failing.isEmpty, "failing": failing]
            let details = readiness.details
            if !details.isEmpty { body["details"] = details }
            let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
            return Response(
                status: failing.isEmpty ? .ok : .serviceUnavailable,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: data))
            )
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: MetricsSetup.exposition()))
            )
        }
    }
}

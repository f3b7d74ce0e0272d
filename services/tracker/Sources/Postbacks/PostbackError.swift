import BeaconCore

/// A refused postback job (see `RouteRefusal`; its code is also the
/// `outcome` of `beacon_tracker_postback_requests_total`).
typealias PostbackError = RouteRefusal

extension RouteRefusal {
    static func disabled(app: String) -> PostbackError {
        PostbackError(
            status: .forbidden, code: "postbacks_disabled",
            message: "postbacks are off for app \(app): no host is allowed yet (postback.allowedHosts.\(app))", field: "endpoint.url")
    }
    static func hostNotAllowed(_ host: String, app: String) -> PostbackError {
        PostbackError(
            status: .forbidden, code: "host_not_allowed",
            message: "host \(host.prefix(253)) is not in postback.allowedHosts.\(app)", field: "endpoint.url")
    }
}

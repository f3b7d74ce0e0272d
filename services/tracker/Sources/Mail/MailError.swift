import BeaconCore

/// A refused mail request (see `RouteRefusal`; its code is also the
/// `outcome` of `beacon_tracker_mail_requests_total`).
typealias MailError = RouteRefusal

extension RouteRefusal {
    static let notConfigured = MailError(
        status: .serviceUnavailable, code: "mail_not_configured",
        message: "mail registration is not configured on this tracker (mail.publicKeyFile is not set)")
    static let wrongStopToken = MailError(
        status: .forbidden, code: "invalid_stop_token", message: "the stopToken does not belong to this registrationId and app",
        field: "stopToken")
}

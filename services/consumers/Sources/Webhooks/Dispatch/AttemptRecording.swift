/// Where the dispatcher puts each attempt: the delivery log (MongoDB).
/// Writing it is best effort and never holds deliveries up.
protocol AttemptRecording: Sendable {
    func record(_ attempts: [WebhookAttempt]) throws
}

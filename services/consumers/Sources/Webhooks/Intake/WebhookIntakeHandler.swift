import BeaconCore
import BeaconKafka

/// The webhooks consumer's Kafka side: each request read from
/// `beacon.webhooks` goes into the retry schedule, due at once, and only
/// then does its offset move on. Calls are the dispatcher's: this loop never
/// waits for a partner. A request already scheduled or already delivered
/// (Kafka redelivering after a crash) is not added twice.
struct WebhookIntakeHandler: EventHandler {
    let name = "webhooks"
    let schedule: RetrySchedule
    private let metrics = WebhookMetrics()

    init(schedule: RetrySchedule) {
        self.schedule = schedule
    }

    func handle(_ event: JSONValue, message: KafkaMessage) throws {
        let request = try WebhookRequest(json: event)
        let added = try schedule.enqueue([ScheduledWebhook(request: request)], at: RetrySchedule.nowMs())
        if added == 0 { metrics.duplicates.increment() } else { metrics.enqueued.increment() }
    }
}

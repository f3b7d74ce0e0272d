import BeaconCore
import BeaconKafka
import BeaconMongo
import Foundation
import Logging
import Metrics
import Synchronization

/// The rules consumer: for every rule an event matches, each push action
/// becomes one push request per device of the user, each webhook action one
/// request on `beacon.webhooks` (the webhooks consumer calls it) — unless the user reached the action's frequency cap.
final class RulesHandler: EventHandler {
    let name = "rules"
    private let rules: RuleSet
    private let devices: DeviceStore
    private let caps: FrequencyCapStore
    private let writer: PushRequestWriter
    private let webhooks: WebhookRequestWriter
    private let logger: Logger
    private let pushes = Counter(label: "beacon_consumers_push_requests_total")
    private let capped = Counter(label: "beacon_consumers_capped_total")
    private let webhooksSent = Counter(label: "beacon_consumers_webhooks_total")
    /// Actions already done for the event being handled, so that a retry
    /// after a later action failed does not repeat them. Only the rules
    /// loop's thread touches it; the lock makes that safe to say.
    private let completed = Mutex<(messageId: String, actions: Set<String>)>(("", []))

    init(rules: RuleSet, devices: DeviceStore, caps: FrequencyCapStore, writer: PushRequestWriter, webhooks: WebhookRequestWriter, logger: Logger) {
        self.rules = rules
        self.devices = devices
        self.caps = caps
        self.writer = writer
        self.webhooks = webhooks
        self.logger = logger
    }

    func handle(_ event: JSONValue, message: KafkaMessage) throws {
        let matching = rules.matching(event)
        guard !matching.isEmpty else { return }
        let app = event["app"]?.stringValue ?? ""
        let userId = event["userId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let user = userId ?? event["anonymousId"]?.stringValue ?? ""
        let messageId = event["messageId"]?.stringValue ?? "\(message.topic)-\(message.partition)-\(message.offset)"
        let now = Timestamp.iso8601(Date())
        completed.withLock { if $0.messageId != messageId { $0 = (messageId, []) } }
        for rule in matching {
            for (index, action) in rule.actions.enumerated() {
                let actionKey = "\(rule.name)#\(index)"
                guard !completed.withLock({ $0.actions.contains(actionKey) }) else { continue }
                if let cap = action.cap {
                    let admitted = try caps.admit(key: cap.key(rule: rule.name, app: app, user: user), member: messageId,
                                                  max: cap.max, windowSeconds: cap.windowSeconds)
                    guard admitted else {
                        capped.increment()
                        // Info, not debug: a capped action is a push or webhook
                        // someone expected and did not get.
                        logger.info("action capped: frequency cap reached", metadata: [
                            "rule": "\(rule.name)", "action": "\(index)", "app": "\(app)", "user": "\(user)",
                            "cap": "\(cap)", "messageId": "\(messageId)",
                        ])
                        continue
                    }
                }
                switch action {
                case .push(let push):
                    // Pushes go to a known user's registered devices.
                    guard let userId else { continue }
                    let notification = push.render(event)
                    let requests = try devices.devices(app: app, userId: userId)
                        .filter { push.targets($0.platform) }
                        .map { device in
                            PushRequest(
                                requestId: "\(messageId):\(rule.name):\(index):\(device.token)", app: app, platform: device.platform,
                                token: device.token, userId: userId, sourceMessageId: messageId, rule: rule.name,
                                notification: notification, createdAt: now)
                        }
                    try writer.write(requests)
                    pushes.increment(by: requests.count)
                case .webhook(let webhook):
                    let rendered = webhook.render(event)
                    try webhooks.write([WebhookRequest(
                        id: "\(messageId):\(rule.name):\(index)", app: app, source: .rule(name: rule.name, messageId: messageId),
                        method: rendered.method, url: rendered.url,
                        headers: rendered.headers,
                        body: rendered.bodyText, signingKey: webhook.signingKey, createdAt: now)])
                    webhooksSent.increment()
                }
                completed.withLock { _ = $0.actions.insert(actionKey) }
            }
        }
    }
}

import BeaconCore
import BeaconKafka
import Foundation
import Logging
import Metrics

/// The rules consumer: for every rule an event matches, each push action
/// becomes one push request per device of the user, each webhook action one
/// call — unless the user reached the action's frequency cap.
final class RulesHandler: EventHandler, @unchecked Sendable {
    let name = "rules"
    private let rules: RuleSet
    private let registry: DeviceRegistry
    private let caps: FrequencyCapStore
    private let writer: PushRequestWriter
    private let webhooks: WebhookSender
    private let topics: [PushPlatform: String]
    private let logger: Logger
    private let pushes = Counter(label: "beacon_consumers_push_requests_total")
    private let capped = Counter(label: "beacon_consumers_capped_total")
    private let webhooksSent = Counter(label: "beacon_consumers_webhooks_total")
    /// Actions already done for the event being handled, so that a retry
    /// after a later action failed does not repeat them.
    private var completed: (messageId: String, actions: Set<String>) = ("", [])

    init(
        rules: RuleSet, registry: DeviceRegistry, caps: FrequencyCapStore, writer: PushRequestWriter, webhooks: WebhookSender,
        apnsTopic: String, fcmTopic: String, logger: Logger
    ) {
        self.rules = rules
        self.registry = registry
        self.caps = caps
        self.writer = writer
        self.webhooks = webhooks
        self.topics = [.ios: apnsTopic, .android: fcmTopic]
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
        if completed.messageId != messageId { completed = (messageId, []) }
        for rule in matching {
            for (index, action) in rule.actions.enumerated() {
                let actionKey = "\(rule.name)#\(index)"
                guard !completed.actions.contains(actionKey) else { continue }
                if let cap = action.cap {
                    let admitted = try caps.admit(key: cap.key(rule: rule.name, app: app, user: user), member: messageId,
                                                  max: cap.max, windowSeconds: cap.windowSeconds)
                    guard admitted else {
                        capped.increment()
                        logger.debug("frequency cap reached", metadata: ["rule": "\(rule.name)", "user": "\(user)", "messageId": "\(messageId)"])
                        continue
                    }
                }
                switch action {
                case .push(let push):
                    // Pushes go to a known user's registered devices.
                    guard let userId else { continue }
                    let rendered = push.render(event)
                    let requests = try registry.devices(app: app, userId: userId)
                        .filter { push.targets($0.platform) }
                        .map { device in
                            (topic: topics[device.platform]!, request: rendered.pushRequest(
                                // The same event, rule, action and device give the same id, so a
                                // request repeated after a crash is recognisable downstream.
                                requestId: "\(messageId):\(rule.name):\(index):\(device.token)", app: app, platform: device.platform,
                                token: device.token, userId: userId, sourceMessageId: messageId, rule: rule.name, createdAt: now))
                        }
                    try writer.write(requests)
                    pushes.increment(by: requests.count)
                    completed.actions.insert(actionKey)
                case .webhook(let webhook):
                    let request = webhook.render(event)
                    try webhooks.send(request)
                    webhooksSent.increment()
                    completed.actions.insert(actionKey)
                }
            }
        }
    }
}

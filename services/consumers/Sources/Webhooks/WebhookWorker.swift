import BeaconCore
import BeaconKafka
import BeaconRedis

/// The webhooks consumer's parts, built from its settings: the Kafka intake
/// (into the retry schedule), the dispatcher (out to the partners), and the
/// sender of `beacon.webhooks.failed`.
struct WebhookWorker {
    let intake: WebhookIntakeHandler
    let dispatcher: WebhookDispatcher
    let failedSender: KafkaSender

    init(settings: ConsumersSettings, context: ServiceContext, resolver: any HostResolver = SystemHostResolver(),
         log: (any AttemptRecording)? = nil) throws {
        let webhooks = settings.webhooks
        let schedule = RetrySchedule(
            redis: RedisClient(url: settings.redisURL), keyPrefix: webhooks.scheduleKey, doneRetentionSeconds: webhooks.doneRetentionSeconds)
        failedSender = try KafkaSender(
            config: settings.producer(clientId: "beacon-consumers-webhooks"), name: "failed-webhooks", drainTimeout: settings.drainTimeout,
            logger: context.logger)
        intake = WebhookIntakeHandler(schedule: RetrySchedule(
            redis: RedisClient(url: settings.redisURL), keyPrefix: webhooks.scheduleKey, doneRetentionSeconds: webhooks.doneRetentionSeconds))
        let clients = HostClients(connectTimeout: webhooks.connectTimeout, hostConcurrency: webhooks.hosts.concurrency)
        context.onShutdown { await clients.shutdown() }
        let delivery = WebhookDelivery(
            clients: clients, resolver: resolver, secrets: webhooks.secrets, timeout: webhooks.timeout, allowPrivate: webhooks.allowPrivate,
            maxResponseBytes: webhooks.maxResponseBytes)
        let sender = failedSender
        dispatcher = WebhookDispatcher(
            schedule: schedule, delivery: delivery, failed: FailedWebhookWriter(sender: failedSender, topic: webhooks.failedTopic), log: log,
            attempts: webhooks.attemptsTopic.map { AttemptPublisher(sender: sender, topic: $0) },
            settings: .init(maxInFlight: webhooks.maxInFlight, lease: webhooks.lease, hosts: webhooks.hosts, retry: webhooks.retry,
                            drainTimeout: settings.drainTimeout),
            readiness: context.readiness, logger: context.logger)
        if webhooks.secrets.names.isEmpty {
            context.logger.warning("no webhooks.signingSecrets configured: webhooks go out unsigned")
        }
        context.logger.info("webhook worker", metadata: [
            "topic": "\(webhooks.topic)", "schedule": "\(webhooks.scheduleKey)", "signing": "\(webhooks.secrets.names)",
        ])
    }
}

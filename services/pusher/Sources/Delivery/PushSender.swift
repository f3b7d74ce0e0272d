import BeaconCore
import Foundation

/// Sends one push request through the app's APNs or FCM client, retrying
/// what may be retried, and says what became of it.
struct PushSender: Sendable {
    let apps: PushApps
    let retry: PushRetryPolicy
    let dryRun: Bool

    func send(_ request: PushRequest) async -> PushOutcome {
        let started = ContinuousClock.now
        func outcome(_ status: PushOutcome.Status, _ reason: String?, attempts: Int) -> PushOutcome {
            PushOutcome(status: status, reason: reason, attempts: attempts, latency: ContinuousClock.now - started)
        }
        switch request.platform {
        case .ios:
            let notification: APNsNotification
            do {
                notification = try NotificationBuilder.apns(request)
            } catch {
                return outcome(.invalidRequest, "\(error)", attempts: 0)
            }
            if dryRun { return outcome(.dryRun, nil, attempts: 0) }
            guard let client = apps.apns[request.app] else {
                return outcome(.noCredentials, "no APNs credentials for app \(request.app)", attempts: 0)
            }
            let delivery = await client.send(notification, retry: retry)
            let attempts = delivery.attempts.count
            switch delivery.outcome {
            case .delivered: return outcome(.delivered, nil, attempts: attempts)
            case .invalidToken(let reason): return outcome(.invalidToken, reason, attempts: attempts)
            case .retryable(let reason, _): return outcome(.retryExhausted, reason, attempts: attempts)
            case .expiredProviderToken: return outcome(.failed, APNsReason.expiredProviderToken, attempts: attempts)
            case .permanent(let reason): return outcome(.failed, reason, attempts: attempts)
            }
        case .android:
            let message = NotificationBuilder.fcm(request)
            guard let client = apps.fcm[request.app] else {
                if dryRun { return outcome(.dryRun, nil, attempts: 0) }
                return outcome(.noCredentials, "no FCM credentials for app \(request.app)", attempts: 0)
            }
            var attempts = 0
            while true {
                // In a dry run FCM itself validates the message without delivering it.
                let result = await client.send(message, validateOnly: dryRun)
                attempts += result.attempts
                switch result.outcome {
                case .delivered: return outcome(dryRun ? .dryRun : .delivered, nil, attempts: attempts)
                case .invalidToken(let reason): return outcome(.invalidToken, reason, attempts: attempts)
                case .unauthenticated: return outcome(.failed, "FCM refused the access token", attempts: attempts)
                case .permanent(let reason): return outcome(.failed, reason, attempts: attempts)
                case .retryable(let reason, let retryAfter):
                    guard let wait = retry.delay(afterAttempt: attempts, retryAfter: retryAfter) else {
                        return outcome(.retryExhausted, reason, attempts: attempts)
                    }
                    try? await Task.sleep(for: wait)
                }
            }
        }
    }
}

import BeaconCore
import BeaconRedis
import BeaconKafka
import BeaconMongo
import BeaconTestSupport
import Foundation
import Testing

/// The mail pinger end to end, on real parts: register at the tracker, the
/// enricher forwards the sealed registration to Kafka, the pinger watches
/// the mailbox on the real dovecot (IDLE or polling), a mail appended there
/// becomes a push request, and the pusher (dry run) reports its outcome.
/// Each test has its own dovecot user (mail40 and up) and its own topics.
@Suite(.serialized) struct PingerEndToEndTests {
    static let idle = #"beacon_pinger_sessions{state="idle"}"#
    static let polling = #"beacon_pinger_sessions{state="polling"}"#

    func token(_ seed: String) -> String { String(repeating: seed, count: 64).prefix(64).description }

    @Test func registerPushDeferAndStop() async throws {
        let stack = try PingerStack()
        let user = "mail40", password = "pw-mail40"
        let tracker = try await stack.startTracker(), enricher = try await stack.startEnricher()
        let pinger = try await stack.startPinger(), pusher = try await stack.startPusher()
        let pushes = try stack.collector(stack.apnsTopic), feedback = try stack.collector(stack.feedbackTopic)

        let registered = try await stack.register(tracker, user: user, password: password, server: .imaps, tls: "implicit", token: token("a"))
        try await Await.condition("the session to IDLE", timeout: .seconds(60)) { try await PingerStack.metric(pinger, Self.idle) == 1 }

        // 1. A mail gives one push, and its outcome reaches the feedback topic.
        try await TestMailbox.append(user: user, password: password, port: try PingerStack.Server.imap.port, subject: "first")
        try await pushes.collect(until: "the first push") { stack.pushes($0, registered.registrationId).count >= 1 }
        let first = try #require(stack.pushes(pushes, registered.registrationId).first)
        #expect(first["rule"] as? String == "mail" && first["body"] as? String == "New mail" && first["token"] as? String == token("a"))
        #expect((first["data"] as? [String: Any])?["count"] as? String == "1")
        let firstId = try #require(first["requestId"] as? String)
        try await feedback.collect(until: "the first outcome") { collector in
            collector.messages.contains { ($0.json["requestId"] as? String) == firstId && ($0.json["status"] as? String) == "dry_run" }
        }

        // 2. Another mail: exactly one more push, under another id.
        try await TestMailbox.append(user: user, password: password, port: try PingerStack.Server.imap.port, subject: "second")
        try await pushes.collect(until: "the second push") { stack.pushes($0, registered.registrationId).count >= 2 }
        let seenBeforeDefer = try await PingerStack.metric(pinger, "beacon_pinger_new_mail_total")

        // 3. Deferred: the pinger sees the mail, and pushes nothing.
        let until = Timestamp.iso8601(Date().addingTimeInterval(3_600))
        let deferred = try await stack.post(tracker, "/v1/mail/defer", [
            "registrationId": registered.registrationId, "stopToken": registered.stopToken, "until": until,
        ])
        #expect(deferred.status == 202, "\(deferred.text)")
        try await Await.condition("the pause to reach the session") { try await PingerStack.metric(pinger, "beacon_pinger_sessions_paused") == 1 }
        try await TestMailbox.append(user: user, password: password, port: try PingerStack.Server.imap.port, subject: "while in the app")
        try await Await.condition("the pinger to see the third mail") {
            try await PingerStack.metric(pinger, "beacon_pinger_new_mail_total") >= seenBeforeDefer + 1
        }
        try await pushes.drain(idle: .seconds(2))
        let ids = stack.pushes(pushes, registered.registrationId).compactMap { $0["requestId"] as? String }
        #expect(ids.count == 2 && Set(ids).count == 2, "pushes: \(ids)")

        // 4. A wrong stop token is refused; the right one ends the session.
        let wrong = try await stack.post(tracker, "/v1/mail/stop", ["registrationId": registered.registrationId, "stopToken": "not-it"])
        #expect(wrong.status == 403)
        let stopped = try await stack.post(tracker, "/v1/mail/stop", [
            "registrationId": registered.registrationId, "stopToken": registered.stopToken,
        ])
        #expect(stopped.status == 202, "\(stopped.text)")
        try await Await.condition("the session to end") {
            let ended = try await PingerStack.metric(pinger, #"beacon_pinger_sessions_ended_total{reason="stopped"}"#)
            let idle = try await PingerStack.metric(pinger, Self.idle)
            return ended == 1 && idle == 0
        }
        #expect(try await storedRegistrations(stack).isEmpty)

        // 5. The password is nowhere but in dovecot: not in Redis, Kafka, MongoDB or any log.
        try await expectNowhere(password, stack: stack, processes: [tracker, enricher, pinger, pusher])
        for process in [tracker, enricher, pinger, pusher] { #expect(process.errorLines().isEmpty, "\(process.name): \(process.errorLines())") }
    }

    @Test func pollingWhereTheServerHasNoIdle() async throws {
        let stack = try PingerStack()
        let user = "mail41", password = "pw-mail41"
        let tracker = try await stack.startTracker(), enricher = try await stack.startEnricher(), pinger = try await stack.startPinger()
        let pushes = try stack.collector(stack.apnsTopic)
        let registered = try await stack.register(tracker, user: user, password: password, server: .noIdle, tls: "starttls", token: token("b"))
        try await Await.condition("the session to poll", timeout: .seconds(60)) { try await PingerStack.metric(pinger, Self.polling) == 1 }
        try await TestMailbox.append(user: user, password: password, port: try PingerStack.Server.noIdle.port, subject: "polled")
        try await pushes.collect(until: "the push") { stack.pushes($0, registered.registrationId).count >= 1 }
        try await pushes.drain(idle: .seconds(2))  // several polls later: still one
        #expect(stack.pushes(pushes, registered.registrationId).count == 1)
        expectCleanLogs([tracker, enricher, pinger])
    }

    @Test func aWrongPasswordAsksTheDeviceToRegisterAgain() async throws {
        let stack = try PingerStack()
        let tracker = try await stack.startTracker(), enricher = try await stack.startEnricher(), pinger = try await stack.startPinger()
        let pushes = try stack.collector(stack.apnsTopic)
        let registered = try await stack.register(tracker, user: "mail42", password: "wrong", server: .imaps, tls: "implicit", token: token("c"))
        try await pushes.collect(until: "the re-register push") { stack.pushes($0, registered.registrationId).count >= 1 }
        let push = try #require(stack.pushes(pushes, registered.registrationId).first)
        let data = try #require(push["data"] as? [String: Any])
        #expect(data["beacon"] as? String == "mail.reregister" && push["body"] == nil, "\(push)")
        #expect(try await PingerStack.metric(pinger, "beacon_pinger_logins_failed_total") == 1)
        try await Await.condition("the registration to be forgotten") { try await storedRegistrations(stack).isEmpty }
        expectCleanLogs([tracker, enricher, pinger])
    }

    @Test func aRegistrationEndsWhenItExpires() async throws {
        let stack = try PingerStack()
        let tracker = try await stack.startTracker(), enricher = try await stack.startEnricher(), pinger = try await stack.startPinger()
        _ = try await stack.register(tracker, user: "mail43", password: "pw-mail43", server: .imaps, tls: "implicit", token: token("d"), expiresIn: 4)
        try await Await.condition("the session to expire", timeout: .seconds(60)) {
            try await PingerStack.metric(pinger, #"beacon_pinger_sessions_ended_total{reason="expired"}"#) == 1
        }
        #expect(try await PingerStack.metric(pinger, Self.idle) == 0)
        try await Await.condition("the registration to be forgotten") { try await storedRegistrations(stack).isEmpty }
        expectCleanLogs([tracker, enricher, pinger])
    }

    @Test func killNineReestablishesSessionsWithoutDuplicatePushes() async throws {
        let stack = try PingerStack()
        let user = "mail44", password = "pw-mail44"
        let tracker = try await stack.startTracker(), enricher = try await stack.startEnricher()
        var pinger = try await stack.startPinger("pinger-a")
        let pushes = try stack.collector(stack.apnsTopic)
        let registered = try await stack.register(tracker, user: user, password: password, server: .imaps, tls: "implicit", token: token("e"))
        try await Await.condition("the session to IDLE", timeout: .seconds(60)) { try await PingerStack.metric(pinger, Self.idle) == 1 }
        try await TestMailbox.append(user: user, password: password, port: try PingerStack.Server.imap.port, subject: "before")
        try await pushes.collect(until: "the first push") { stack.pushes($0, registered.registrationId).count >= 1 }

        // Killed with nothing new; a mail arrives while it is down.
        pinger.kill()
        try await TestMailbox.append(user: user, password: password, port: try PingerStack.Server.imap.port, subject: "while down")
        pinger = try await stack.startPinger("pinger-b")
        try await Await.condition("the session back in IDLE", timeout: .seconds(60)) { try await PingerStack.metric(pinger, Self.idle) == 1 }
        try await pushes.collect(until: "the push of the mail that came while it was down") {
            stack.pushes($0, registered.registrationId).count >= 2
        }
        try await pushes.drain(idle: .seconds(2))
        let ids = stack.pushes(pushes, registered.registrationId).compactMap { $0["requestId"] as? String }
        #expect(ids.count == 2 && Set(ids).count == 2, "one push per mail, none repeated: \(ids)")
        expectCleanLogs([tracker, enricher, pinger])
    }

    @Test func theMailServerGoingAwayGivesReconnectsAndNoLostMail() async throws {
        let stack = try PingerStack()
        let user = "mail45", password = "pw-mail45"
        // The pinger reaches dovecot through a proxy the test can cut: the
        // server vanishing is what a restart looks like to the pinger, without
        // restarting the dovecot that other tests use meanwhile.
        let proxy = TCPProxy(target: try PingerStack.Server.imaps.port)
        try await proxy.resume()
        let tracker = try await stack.startTracker(), enricher = try await stack.startEnricher(), pinger = try await stack.startPinger()
        let pushes = try stack.collector(stack.apnsTopic)
        let body: [String: Any] = [
            "device": ["token": token("f"), "type": "ios"],
            "account": ["host": "127.0.0.1", "port": proxy.port, "tls": "implicit", "username": user, "password": password],
            "expiresIn": 3_600,
        ]
        let reply = try await HTTP.postJSON("\(tracker.baseURL)/v1/mail/register", json: body, writeKey: BeaconStack.writeKey)
        let registrationId = try #require(try reply.json()["registrationId"] as? String, "\(reply.status) \(reply.text)")
        try await Await.condition("the session to IDLE", timeout: .seconds(60)) { try await PingerStack.metric(pinger, Self.idle) == 1 }

        await proxy.pause()
        try await Await.condition("reconnect attempts", timeout: .seconds(30)) {
            try await PingerStack.metric(pinger, "beacon_pinger_reconnects_total") >= 2
        }
        try await TestMailbox.append(user: user, password: password, port: try PingerStack.Server.imap.port, subject: "while away")
        try await proxy.resume()
        try await pushes.collect(until: "the push of the mail that came while the server was away") {
            stack.pushes($0, registrationId).count >= 1
        }
        try await pushes.drain(idle: .seconds(2))
        #expect(stack.pushes(pushes, registrationId).count == 1)
        await proxy.shutdown()
        expectCleanLogs([tracker, enricher, pinger])
    }

    @Test func aDovecotRestartGivesReconnectsWithBackoffAndNoLostMail() async throws {
        let stack = try PingerStack()
        let user = "mail52", password = "pw-mail52"
        let tracker = try await stack.startTracker(), enricher = try await stack.startEnricher(), pinger = try await stack.startPinger()
        let pushes = try stack.collector(stack.apnsTopic)
        let registered = try await stack.register(
            tracker, user: user, password: password, server: .restartIMAPS, tls: "implicit", token: token("g"))
        try await Await.condition("the session to IDLE", timeout: .seconds(60)) { try await PingerStack.metric(pinger, Self.idle) == 1 }
        let reconnectsBefore = try await PingerStack.metric(pinger, "beacon_pinger_reconnects_total")

        // dovecot restarts (every connection drops); a mail arrives as soon as it is back.
        try await IMAPTestServers.restart()
        try await TestMailbox.append(user: user, password: password, port: try PingerStack.Server.restartIMAP.port, subject: "after restart")
        try await pushes.collect(until: "the push of the mail after the restart") { stack.pushes($0, registered.registrationId).count >= 1 }
        #expect(try await PingerStack.metric(pinger, "beacon_pinger_reconnects_total") > reconnectsBefore)
        try await Await.condition("the session back in IDLE") { try await PingerStack.metric(pinger, Self.idle) == 1 }
        try await pushes.drain(idle: .seconds(2))
        #expect(stack.pushes(pushes, registered.registrationId).count == 1)
        expectCleanLogs([tracker, enricher, pinger])
    }

    @Test func twoPingersShareTheMailboxesWithoutLosingOrDoublingOne() async throws {
        let stack = try PingerStack(mailPartitions: 6)
        let users = (46...51).map { String(format: "mail%02d", $0) }
        let tracker = try await stack.startTracker(), enricher = try await stack.startEnricher()
        let first = try await stack.startPinger("pinger-1")
        let pushes = try stack.collector(stack.apnsTopic)
        var registrations: [String: String] = [:]
        for (index, user) in users.enumerated() {
            let registered = try await stack.register(
                tracker, user: user, password: "pw-\(user)", server: .imaps, tls: "implicit", token: token(String(index)))
            registrations[user] = registered.registrationId
        }
        try await Await.condition("pinger-1 to watch all six", timeout: .seconds(60)) {
            try await PingerStack.metric(first, Self.idle) == 6
        }

        // Scaled up: the group splits the partitions, and every mailbox is
        // watched by exactly one of the two.
        let second = try await stack.startPinger("pinger-2")
        try await awaitShowingRebalances("the sessions to be shared", [first, second]) {
            let a = try await PingerStack.metric(first, Self.idle), b = try await PingerStack.metric(second, Self.idle)
            return a + b == 6 && a > 0 && b > 0
        }
        for user in users {
            try await TestMailbox.append(user: user, password: "pw-\(user)", port: try PingerStack.Server.imap.port, subject: "shared")
        }
        try await pushes.collect(until: "one push per mailbox") { collector in
            registrations.values.allSatisfy { stack.pushes(collector, $0).count >= 1 }
        }

        // Scaled down: pinger-1 takes every mailbox back.
        try await second.terminate()
        try await awaitShowingRebalances("pinger-1 to watch all six again", [first, second]) {
            try await PingerStack.metric(first, Self.idle) == 6
        }
        for user in users {
            try await TestMailbox.append(user: user, password: "pw-\(user)", port: try PingerStack.Server.imap.port, subject: "after")
        }
        try await pushes.collect(until: "a second push per mailbox") { collector in
            registrations.values.allSatisfy { stack.pushes(collector, $0).count >= 2 }
        }
        try await pushes.drain(idle: .seconds(2))
        for (user, id) in registrations {
            let ids = stack.pushes(pushes, id).compactMap { $0["requestId"] as? String }
            #expect(ids.count == 2 && Set(ids).count == 2, "\(user): \(ids)")
        }
        expectCleanLogs([tracker, enricher, first, second])
    }

    // MARK: Helpers

    /// Awaits a condition on a group of pingers; on a timeout the failure
    /// carries each one's assignments and session changes, since a CI run
    /// keeps nothing else of them.
    func awaitShowingRebalances(
        _ what: String, _ pingers: [ServiceProcess], timeout: Duration = .seconds(60), _ check: () async throws -> Bool
    ) async throws {
        do {
            try await Await.condition(what, timeout: timeout, check)
        } catch let timedOut as Await.TimedOut {
            for pinger in pingers {
                let words = ["partitions", "session", "registration", "ready", "rebalance", "reconnect"]
                let lines = pinger.logLines(containing: "").filter { line in words.contains { line.contains($0) } }
                let idle = (try? await PingerStack.metric(pinger, Self.idle)) ?? -1
                Issue.record("\(pinger.name), \(idle) idle sessions:\n\(lines.suffix(60).joined(separator: "\n"))")
            }
            throw timedOut
        }
    }

    /// Nothing logged at error level: bad input and lost connections are warnings at most.
    func expectCleanLogs(_ processes: [ServiceProcess]) {
        for process in processes { #expect(process.errorLines().isEmpty, "\(process.name): \(process.errorLines())") }
    }

    func storedRegistrations(_ stack: PingerStack) async throws -> [MongoDocument] {
        let pool = try MongoClientPool(uri: try TestEnvironment.mongoURL(), appName: "pinger-tests")
        return try pool.collection(database: stack.database, name: "mail_registrations").find([:])
    }

    /// Fails if `secret` appears in the test's Redis stream, its Kafka topics, its MongoDB documents or a service's log.
    func expectNowhere(_ secret: String, stack: PingerStack, processes: [ServiceProcess]) async throws {
        let redis = RedisClient(url: try RedisURL(TestEnvironment.redisURL()))
        let entries = try redis.command(["XRANGE", stack.mailStream, "-", "+"])
        #expect(!"\(entries)".isEmpty)
        #expect(!"\(entries)".contains(secret), "the password is in the Redis stream")
        for topic in [stack.mailTopic, stack.apnsTopic, stack.feedbackTopic] {
            let collector = try stack.collector(topic)
            try await collector.drain(idle: .seconds(1))
            for (message, _) in collector.messages {
                #expect(!String(decoding: message.value, as: UTF8.self).contains(secret), "the password is on \(topic)")
            }
        }
        for document in try await storedRegistrations(stack) {
            #expect(!JSONWriter.string(document.json).contains(secret), "the password is in MongoDB")
        }
        for process in processes {
            let log = (try? String(contentsOfFile: process.logPath, encoding: .utf8)) ?? ""
            #expect(!log.contains(secret), "the password is in \(process.name)'s log")
        }
    }
}

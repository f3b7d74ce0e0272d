import BeaconCore
import Dispatch
import Logging
import Synchronization
import ServiceLifecycleTestKit
import Testing

/// The one host of blocking loops: a stop ends every wait a loop does
/// through its control, shutdowns are bounded by the drain time, and what a
/// loop left undone is reported.
@Suite(.timeLimit(.minutes(1))) struct LoopHostTests {
    static let logger = Logger(label: "test")

    /// Counts rounds, sleeping a long time between them, and drains for `drainWork`.
    struct PatientLoop: BlockingLoop {
        let name = "patient"
        let rounds = RoundCounter()
        var drainWork: Duration = .zero
        var ignoresStop = false

        func run(_ control: LoopControl) -> LoopOutcome {
            if ignoresStop {
                let stuck = DispatchSemaphore(value: 0)
                _ = stuck.wait(timeout: .now() + .seconds(30))
                return .finished
            }
            while control.pause(.seconds(3600)) { rounds.add() }
            // Draining what it holds, within its deadline.
            let deadline = ContinuousClock.now + drainWork
            var done = 0
            while ContinuousClock.now < deadline, ContinuousClock.now < control.drainDeadline {
                done += 1
                _ = DispatchSemaphore(value: 0).wait(timeout: .now() + .milliseconds(10))
            }
            return ContinuousClock.now < deadline ? .leftUndone("drain cut short after \(done) steps") : .finished
        }
    }

    final class RoundCounter: Sendable {
        private let value = Atomic<Int>(0)
        func add() { value.add(1, ordering: .relaxed) }
        var count: Int { value.load(ordering: .relaxed) }
    }

    @Test func stopEndsAPauseAtOnce() async {
        // A drain time far above the bound: a pause the stop did not end would
        // run into it (60 s), while a loaded machine still stays under 10 s.
        let thread = LoopThread(PatientLoop(), drainTimeout: .seconds(60), logger: Self.logger)
        let started = ContinuousClock.now
        let outcome = await thread.stop()
        #expect(outcome == .finished)
        #expect(ContinuousClock.now - started < .seconds(10), "a pause of an hour must end at the stop")
    }

    @Test func aDrainThatOutlastsItsTimeReportsWhatItLeft() async {
        let thread = LoopThread(PatientLoop(drainWork: .seconds(20)), drainTimeout: .milliseconds(300), logger: Self.logger)
        let started = ContinuousClock.now
        let outcome = await thread.stop()
        #expect(outcome?.undone?.hasPrefix("drain cut short") == true, "\(String(describing: outcome))")
        // Well under the drain work's 20 s: it was cut short at 300 ms.
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func aLoopThatIgnoresTheStopIsAbandonedAfterItsDrainTimeAndGrace() async {
        let thread = LoopThread(PatientLoop(ignoresStop: true), drainTimeout: .milliseconds(200), logger: Self.logger)
        let started = ContinuousClock.now
        let outcome = await thread.stop()
        let waited = ContinuousClock.now - started
        #expect(outcome == nil)
        // Not before drain + grace; and it does return. The upper bound is
        // loose on purpose: the wait is a Task.sleep on the shared cooperative
        // pool, which tests in other suites that block it (blocking Kafka and
        // Redis reads in async tests) can delay by seconds on a loaded
        // 2-core machine (seen: 12 s, with a compiler running beside the tests).
        #expect(waited >= LoopThread.grace && waited < LoopThread.grace + .seconds(30), "waited \(waited)")
    }

    @Test func aSecondStopReturnsTheSameOutcome() async {
        let thread = LoopThread(PatientLoop(), drainTimeout: .seconds(5), logger: Self.logger)
        #expect(await thread.stop() == .finished)
        #expect(await thread.stop() == .finished, "a second stop returns the same outcome")
    }

    @Test func backoffGrowsWithJitterAndItsWaitEndsAtTheStop() async {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .milliseconds(400))
        let delays = (0..<5).map { _ in backoff.next() }
        let caps: [Duration] = [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(400), .milliseconds(400)]
        for (delay, cap) in zip(delays, caps) {
            #expect(delay <= cap && delay >= cap / 2, "\(delay) not within [\(cap / 2), \(cap)]")
        }
        backoff.reset()
        #expect(backoff.current == .milliseconds(100))

        let control = LoopControl(name: "t", drainTimeout: .seconds(1))
        let waiting = Task.detached {
            var long = Backoff(initial: .seconds(600), maximum: .seconds(600))
            return long.wait(control)
        }
        control.requestStop()
        #expect(await waiting.value == false)
    }

    @Test func waitingForASemaphoreEndsAtTheStop() async {
        let control = LoopControl(name: "t", drainTimeout: .seconds(1))
        let never = DispatchSemaphore(value: 0)
        let waiting = Task.detached { control.wait(for: never) }
        control.requestStop()
        #expect(await waiting.value == false)
        let one = DispatchSemaphore(value: 0)
        one.signal()
        #expect(LoopControl(name: "u", drainTimeout: .seconds(1)).wait(for: one))
    }

    @Test func theServiceStopsEveryLoopOnGracefulShutdown() async throws {
        let loops = [PatientLoop(), PatientLoop()]
        let service = BlockingLoopService(loops, drainTimeout: .seconds(60), logger: Self.logger)
        let started = ContinuousClock.now
        try await testGracefulShutdown { trigger in
            async let running: Void = service.run()
            trigger.triggerGracefulShutdown()
            try await running
        }
        // Well under the 60 s drain time: the loops ended their pauses at the stop.
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}

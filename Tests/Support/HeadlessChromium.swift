import Foundation
import HummingbirdWSClient
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What went wrong while driving the browser; `description` says it in words.
public struct HeadlessChromiumError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A headless Chromium driven over the Chrome DevTools Protocol, for end-to-end tests.
///
/// ```swift
/// let browser = try await HeadlessChromium.launch(executable: try TestEnvironment.chromium())
/// try await browser.open("http://127.0.0.1:\(port)/?token=t")
/// try await browser.waitUntil("document.querySelector('.event-row[data-message-id=\"m1\"]')", timeout: .seconds(20))
/// try await browser.screenshot(to: "\(try TestEnvironment.outputDir())/liveview.png")
/// await browser.close()   // when a step above throws, deinit ends the browser instead
/// ```
///
/// The browser runs under a small `/bin/sh` watchdog in a process group of its own. `close()`
/// quits it and ends the whole group; without `close()`, `deinit` or even the death of the
/// test process closes the watchdog's stdin pipe, and the watchdog quits the browser (kills it
/// after 3 s at the latest) and removes the temporary profile. No Chromium outlives a test run.
public final class HeadlessChromium: @unchecked Sendable {
    /// The folder with the browser's log (`chromium.log`) and, unless one was passed, its profile.
    public let workDirectory: String
    /// The user data directory the browser runs with.
    public let userDataDir: String
    /// Where the browser's stdout and stderr go.
    public var logPath: String { workDirectory + "/chromium.log" }

    private let connection: CDPConnection
    private let sessionId: String
    private let process: WatchedProcess
    private let state = LockedState()

    private final class LockedState: @unchecked Sendable {
        let lock = NSLock()
        var consoleErrors: [String] = []
        var closed = false
    }

    private init(
        connection: CDPConnection, sessionId: String, process: WatchedProcess,
        workDirectory: String, userDataDir: String
    ) {
        self.connection = connection
        self.sessionId = sessionId
        self.process = process
        self.workDirectory = workDirectory
        self.userDataDir = userDataDir
    }

    deinit {
        // Safety net for a test that threw before `close()`: the watchdog quits the browser
        // (killing it after 3 s at the latest) and removes the work directory; nothing blocks.
        let alreadyClosed = state.lock.withLock { () -> Bool in
            defer { state.closed = true }
            return state.closed
        }
        guard !alreadyClosed else { return }
        connection.shutdown()
        process.detach()
    }

    // MARK: Launch

    /// Starts `executable` headless with a fresh profile (or `userDataDir`), connects to its
    /// DevTools endpoint and attaches to a new page target showing `about:blank`.
    public static func launch(
        executable: String,
        userDataDir: String? = nil,
        windowSize: (width: Int, height: Int) = (1280, 800),
        extraArguments: [String] = [],
        launchTimeout: Duration = .seconds(30)
    ) async throws -> HeadlessChromium {
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("beacon-chromium-\(UUID().uuidString)").path
        try fm.createDirectory(atPath: work, withIntermediateDirectories: true)
        let profile = userDataDir ?? work + "/profile"
        try fm.createDirectory(atPath: profile, withIntermediateDirectories: true)
        let portFile = profile + "/DevToolsActivePort"
        try? fm.removeItem(atPath: portFile)

        let arguments = [
            "--headless=new",
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
            // The WebSocket client sends `Origin: ws://127.0.0.1`; Chromium refuses unlisted origins.
            "--remote-allow-origins=ws://127.0.0.1",
            "--no-sandbox",
            "--disable-gpu",
            "--user-data-dir=\(profile)",
            "--window-size=\(windowSize.width),\(windowSize.height)",
            "--force-device-scale-factor=1",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-sync",
            "--mute-audio",
            "--password-store=basic",
            "--use-mock-keychain",
        ] + extraArguments + ["about:blank"]

        let process: WatchedProcess
        do {
            process = try WatchedProcess.spawn(executable: executable, arguments: arguments, logPath: work + "/chromium.log", removeOnExit: work)
        } catch {
            try? fm.removeItem(atPath: work)
            throw error
        }

        func fail(_ message: String) -> HeadlessChromiumError {
            let log = Self.tail(ofFile: work + "/chromium.log")
            process.killNow()
            try? fm.removeItem(atPath: work)
            return HeadlessChromiumError("\(message)\n--- chromium log (tail) ---\n\(log)")
        }

        // The port file appears once the DevTools server listens: "PORT\n/devtools/browser/ID".
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: launchTimeout)
        var endpoint: String?
        while endpoint == nil {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8) {
                let lines = text.split(whereSeparator: \.isNewline).map(String.init)
                if lines.count >= 2, let port = Int(lines[0]), port > 0 {
                    endpoint = "ws://127.0.0.1:\(port)\(lines[1])"
                    break
                }
            }
            if let status = process.exitStatusIfExited() {
                throw fail("\(executable) exited (\(WatchedProcess.describe(status: status))) before its DevTools server was listening")
            }
            if clock.now >= deadline {
                throw fail("\(executable) did not report a DevTools port within \(launchTimeout) (\(portFile))")
            }
            try? await Task.sleep(for: .milliseconds(50))
        }

        let connection = CDPConnection()
        let sessionId: String
        do {
            try await connection.connect(url: endpoint!, timeout: .seconds(10))
            let created = try await connection.send("Target.createTarget", ["url": "about:blank"])
            guard let targetId = created["targetId"] as? String else { throw HeadlessChromiumError("Target.createTarget returned no targetId") }
            let attached = try await connection.send("Target.attachToTarget", ["targetId": targetId, "flatten": true])
            guard let session = attached["sessionId"] as? String else { throw HeadlessChromiumError("Target.attachToTarget returned no sessionId") }
            sessionId = session
        } catch {
            connection.shutdown()
            throw fail("could not attach to \(endpoint!): \(error)")
        }

        let browser = HeadlessChromium(
            connection: connection, sessionId: sessionId, process: process,
            workDirectory: work, userDataDir: profile
        )
        connection.onEvent = { [weak browser] method, params, session in
            guard let browser, session == browser.sessionId else { return }
            browser.handleEvent(method, params)
        }
        do {
            _ = try await browser.send("Page.enable")
            _ = try await browser.send("Runtime.enable")
            _ = try await browser.send("Log.enable")
            // Headless windows lose some height to (invisible) browser chrome: pin the viewport.
            _ = try await browser.send("Emulation.setDeviceMetricsOverride", [
                "width": windowSize.width, "height": windowSize.height, "deviceScaleFactor": 1, "mobile": false,
            ])
        } catch {
            await browser.close()
            throw error
        }
        return browser
    }

    // MARK: Page

    /// Navigates the page to `url` and waits for its `load` event.
    public func open(_ url: String, timeout: Duration = .seconds(30)) async throws {
        let waiter = connection.expectEvent("Page.loadEventFired", sessionId: sessionId)
        let result: [String: Any]
        do {
            result = try await send("Page.navigate", ["url": url])
        } catch {
            connection.cancelWaiter(waiter)
            throw error
        }
        if let errorText = result["errorText"] as? String, !errorText.isEmpty {
            connection.cancelWaiter(waiter)
            throw HeadlessChromiumError("navigation to \(url) failed: \(errorText)")
        }
        guard result["loaderId"] != nil else {
            // Same-document navigation (only the fragment changed): there is no load event.
            connection.cancelWaiter(waiter)
            return
        }
        do {
            try await connection.awaitEvent(waiter, timeout: timeout, what: "the load event of \(url)")
        } catch {
            throw HeadlessChromiumError("\(error)\(consoleErrorSuffix())")
        }
    }

    /// Evaluates `expression` in the page (promises are awaited). Returns a string result as
    /// is, any other value as JSON text (`true`, `42`, `{"a":1}`), and nil for undefined or null.
    /// Throws when the expression throws.
    public func evaluate(_ expression: String) async throws -> String? {
        let response = try await send("Runtime.evaluate", [
            "expression": expression,
            "returnByValue": true,
            "awaitPromise": true,
        ])
        if let details = response["exceptionDetails"] as? [String: Any] {
            throw HeadlessChromiumError("evaluating `\(expression)` threw: \(Self.describe(exceptionDetails: details))")
        }
        guard let remote = response["result"] as? [String: Any] else { return nil }
        if let unserializable = remote["unserializableValue"] as? String { return unserializable }
        let type = remote["type"] as? String
        if type == "undefined" || remote["subtype"] as? String == "null" { return nil }
        guard let value = remote["value"] else {
            return remote["description"] as? String
        }
        if let string = value as? String { return string }
        if value is NSNull { return nil }
        if type == "boolean" {
            return (value as? Bool ?? (value as? NSNumber)?.boolValue ?? false) ? "true" : "false"
        }
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]) else {
            return String(describing: value)
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Polls `jsCondition` (every 100 ms) until it is truthy. Exceptions while polling count as
    /// "not yet" (the page may still be loading); on timeout it throws, naming the condition,
    /// the last exception and the console errors seen.
    public func waitUntil(_ jsCondition: String, timeout: Duration, pollInterval: Duration = .milliseconds(100)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        let expression = "!!(\(jsCondition))"
        var lastError: String?
        while true {
            do {
                if try await evaluate(expression) == "true" { return }
                lastError = nil
            } catch {
                if isClosed { throw HeadlessChromiumError("browser closed while waiting for `\(jsCondition)`") }
                lastError = String(describing: error)
            }
            if clock.now >= deadline { break }
            try await Task.sleep(for: pollInterval)
        }
        var message = "timed out after \(timeout) waiting for `\(jsCondition)` to become truthy"
        if let lastError { message += "\nlast evaluation error: \(lastError)" }
        if let href = try? await evaluate("location.href") { message += "\npage: \(href)" }
        message += consoleErrorSuffix()
        throw HeadlessChromiumError(message)
    }

    /// Writes a PNG of the current viewport to `path` (creating its folder).
    public func screenshot(to path: String) async throws {
        let result = try await send("Page.captureScreenshot", ["format": "png"])
        guard let base64 = result["data"] as? String, let data = Data(base64Encoded: base64) else {
            throw HeadlessChromiumError("Page.captureScreenshot returned no image")
        }
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    /// Uncaught exceptions, `console.error`/`console.assert` calls and error-level browser log
    /// entries (failed loads, refused WebSocket connections) seen so far, oldest first.
    public func consoleErrors() -> [String] {
        state.lock.withLock { state.consoleErrors }
    }

    /// Sends a raw DevTools command to the page's session and returns its `result` object.
    @discardableResult
    public func send(_ method: String, _ params: [String: Any] = [:], timeout: Duration = .seconds(30)) async throws -> [String: Any] {
        try await connection.send(method, params, sessionId: sessionId, timeout: timeout)
    }

    /// Closes the browser (politely, then by force) and removes `workDirectory` (with the
    /// temporary profile; a `userDataDir` passed to `launch` is kept). Safe to call more than once.
    public func close() async {
        let alreadyClosed = state.lock.withLock { () -> Bool in
            defer { state.closed = true }
            return state.closed
        }
        guard !alreadyClosed else { return }
        _ = try? await connection.send("Browser.close", [:], timeout: .seconds(2))
        connection.shutdown()
        await process.stop(grace: .seconds(5))
        try? FileManager.default.removeItem(atPath: workDirectory)
    }

    // MARK: Internals

    private var isClosed: Bool { state.lock.withLock { state.closed } }

    private func consoleErrorSuffix() -> String {
        let errors = consoleErrors()
        guard !errors.isEmpty else { return "" }
        return "\nconsole errors:\n" + errors.map { "  " + $0 }.joined(separator: "\n")
    }

    private func handleEvent(_ method: String, _ params: [String: Any]) {
        var message: String?
        switch method {
        case "Runtime.exceptionThrown":
            if let details = params["exceptionDetails"] as? [String: Any] {
                message = "uncaught: " + Self.describe(exceptionDetails: details)
            }
        case "Runtime.consoleAPICalled":
            let type = params["type"] as? String ?? ""
            if type == "error" || type == "assert" {
                let args = (params["args"] as? [[String: Any]] ?? []).map(Self.describe(remoteObject:))
                message = "console.\(type): " + args.joined(separator: " ")
            }
        case "Log.entryAdded":
            if let entry = params["entry"] as? [String: Any], entry["level"] as? String == "error" {
                let source = entry["source"] as? String ?? "other"
                var text = entry["text"] as? String ?? ""
                if let url = entry["url"] as? String, !url.isEmpty { text += " (\(url))" }
                message = "\(source): \(text)"
            }
        case "Inspector.targetCrashed":
            message = "the page crashed"
        default:
            break
        }
        if let message {
            state.lock.withLock { state.consoleErrors.append(message) }
        }
    }

    static func describe(exceptionDetails details: [String: Any]) -> String {
        if let exception = details["exception"] as? [String: Any], let description = exception["description"] as? String {
            return description
        }
        if let exception = details["exception"] as? [String: Any] {
            return describe(remoteObject: exception)
        }
        var text = details["text"] as? String ?? "exception"
        if let line = details["lineNumber"] as? Int { text += " at line \(line + 1)" }
        return text
    }

    static func describe(remoteObject object: [String: Any]) -> String {
        if let value = object["value"] {
            if let string = value as? String { return string }
            if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) {
                return String(decoding: data, as: UTF8.self)
            }
        }
        if let unserializable = object["unserializableValue"] as? String { return unserializable }
        return object["description"] as? String ?? object["type"] as? String ?? "?"
    }

    static func tail(ofFile path: String, maxBytes: Int = 4000) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "(no log)" }
        return String(decoding: data.suffix(maxBytes), as: UTF8.self)
    }
}

// MARK: - DevTools connection

/// One WebSocket to the browser endpoint; commands are matched to replies by id, events are
/// handed to `onEvent` and to one-shot waiters.
final class CDPConnection: @unchecked Sendable {
    typealias EventHandler = @Sendable (_ method: String, _ params: [String: Any], _ sessionId: String?) -> Void

    private struct Box: @unchecked Sendable { let value: [String: Any] }

    private struct Pending {
        let method: String
        let continuation: CheckedContinuation<Box, any Error>
        let timeout: Task<Void, Never>
    }

    private struct Waiter {
        let method: String
        let sessionId: String?
        var fired = false
        var continuation: CheckedContinuation<Void, any Error>?
        var timeout: Task<Void, Never>?
    }

    private let lock = NSLock()
    private var nextId = 0
    private var pending: [Int: Pending] = [:]
    private var waiters: [Int: Waiter] = [:]
    private var writer: WebSocketOutboundWriter?
    private var closedError: HeadlessChromiumError?
    private var task: Task<Void, Never>?
    private var handler: EventHandler?

    var onEvent: EventHandler? {
        get { lock.withLock { handler } }
        set { lock.withLock { handler = newValue } }
    }

    func connect(url: String, timeout: Duration) async throws {
        let ready = ReadySignal()
        let task = Task { [self] in
            var logger = Logger(label: "beacon.test.cdp")
            logger.logLevel = .warning
            var failure: HeadlessChromiumError
            do {
                try await WebSocketClient.connect(
                    url: url,
                    configuration: .init(maxFrameSize: 1 << 27),
                    logger: logger
                ) { inbound, outbound, _ in
                    self.lock.withLock { self.writer = outbound }
                    ready.signal(nil)
                    for try await message in inbound.messages(maxSize: 1 << 28) {
                        if case .text(let text) = message { self.receive(text) }
                    }
                }
                failure = HeadlessChromiumError("the DevTools connection closed (did chromium exit?)")
            } catch {
                failure = HeadlessChromiumError("the DevTools connection failed: \(error)")
            }
            ready.signal(failure)
            self.failAll(failure)
        }
        lock.withLock { self.task = task }
        try await ready.wait(timeout: timeout, what: "connecting to \(url)")
    }

    func send(_ method: String, _ params: [String: Any], sessionId: String? = nil, timeout: Duration = .seconds(30)) async throws -> [String: Any] {
        var message: [String: Any] = ["method": method, "params": params]
        if let sessionId { message["sessionId"] = sessionId }
        let (id, writer, closed) = lock.withLock { () -> (Int, WebSocketOutboundWriter?, HeadlessChromiumError?) in
            nextId += 1
            return (nextId, self.writer, closedError)
        }
        if let closed { throw closed }
        guard let writer else { throw HeadlessChromiumError("not connected") }
        message["id"] = id
        let text = String(decoding: try JSONSerialization.data(withJSONObject: message), as: UTF8.self)
        let box = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Box, any Error>) in
            let timer = Task { [weak self] in
                try? await Task.sleep(for: timeout)
                if Task.isCancelled { return }
                self?.finish(id, .failure(HeadlessChromiumError("no reply to \(method) within \(timeout)")))
            }
            let closed = lock.withLock { () -> HeadlessChromiumError? in
                if let closedError { return closedError }
                pending[id] = Pending(method: method, continuation: continuation, timeout: timer)
                return nil
            }
            if let closed {
                timer.cancel()
                continuation.resume(throwing: closed)
                return
            }
            Task { [weak self] in
                do { try await writer.writeTextMessage(text) } catch {
                    self?.finish(id, .failure(HeadlessChromiumError("sending \(method) failed: \(error)")))
                }
            }
        }
        return box.value
    }

    /// Registers interest in the next `method` event before the action that causes it.
    func expectEvent(_ method: String, sessionId: String?) -> Int {
        lock.withLock {
            nextId += 1
            waiters[nextId] = Waiter(method: method, sessionId: sessionId)
            return nextId
        }
    }

    func cancelWaiter(_ id: Int) {
        let waiter = lock.withLock { waiters.removeValue(forKey: id) }
        waiter?.timeout?.cancel()
        waiter?.continuation?.resume(throwing: CancellationError())
    }

    func awaitEvent(_ id: Int, timeout: Duration, what: String) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let timer = Task { [weak self] in
                try? await Task.sleep(for: timeout)
                if Task.isCancelled { return }
                self?.resolveWaiter(id, HeadlessChromiumError("timed out after \(timeout) waiting for \(what)"))
            }
            enum Outcome { case fired, failed(any Error), wait }
            let outcome = lock.withLock { () -> Outcome in
                guard var waiter = waiters[id] else { return .failed(HeadlessChromiumError("unknown event waiter")) }
                if waiter.fired { waiters[id] = nil; return .fired }
                if let closedError { waiters[id] = nil; return .failed(closedError) }
                waiter.continuation = continuation
                waiter.timeout = timer
                waiters[id] = waiter
                return .wait
            }
            switch outcome {
            case .fired: timer.cancel(); continuation.resume()
            case .failed(let error): timer.cancel(); continuation.resume(throwing: error)
            case .wait: break
            }
        }
    }

    /// Stops the connection task and fails everything still waiting.
    func shutdown() {
        let task = lock.withLock { self.task }
        failAll(HeadlessChromiumError("the browser was closed"))
        task?.cancel()
    }

    private func resolveWaiter(_ id: Int, _ error: (any Error)?) {
        let waiter = lock.withLock { waiters.removeValue(forKey: id) }
        guard let waiter else { return }
        waiter.timeout?.cancel()
        if let error { waiter.continuation?.resume(throwing: error) } else { waiter.continuation?.resume() }
    }

    private func finish(_ id: Int, _ result: Result<Box, any Error>) {
        guard let entry = lock.withLock({ pending.removeValue(forKey: id) }) else { return }
        entry.timeout.cancel()
        entry.continuation.resume(with: result)
    }

    private func failAll(_ error: HeadlessChromiumError) {
        let (requests, waiting) = lock.withLock { () -> ([Pending], [Waiter]) in
            if closedError == nil { closedError = error }
            let requests = Array(pending.values)
            let waiting = Array(waiters.values)
            pending.removeAll()
            waiters.removeAll()
            writer = nil
            return (requests, waiting)
        }
        for request in requests {
            request.timeout.cancel()
            request.continuation.resume(throwing: HeadlessChromiumError("\(request.method): \(error.description)"))
        }
        for waiter in waiting {
            waiter.timeout?.cancel()
            waiter.continuation?.resume(throwing: error)
        }
    }

    private func receive(_ text: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return }
        if let id = object["id"] as? Int {
            if let error = object["error"] as? [String: Any] {
                let method = lock.withLock { pending[id]?.method } ?? "command"
                let text = error["message"] as? String ?? "error"
                let data = error["data"] as? String
                finish(id, .failure(HeadlessChromiumError("\(method) failed: \(text)\(data.map { " (\($0))" } ?? "")")))
            } else {
                finish(id, .success(Box(value: object["result"] as? [String: Any] ?? [:])))
            }
            return
        }
        guard let method = object["method"] as? String else { return }
        let params = object["params"] as? [String: Any] ?? [:]
        let sessionId = object["sessionId"] as? String
        onEvent?(method, params, sessionId)
        let ready = lock.withLock { () -> [Waiter] in
            var resumed: [Waiter] = []
            for (id, var waiter) in waiters where waiter.method == method && waiter.sessionId == sessionId && !waiter.fired {
                if waiter.continuation != nil {
                    waiters[id] = nil
                    resumed.append(waiter)
                } else {
                    waiter.fired = true
                    waiters[id] = waiter
                }
            }
            return resumed
        }
        for waiter in ready {
            waiter.timeout?.cancel()
            waiter.continuation?.resume()
        }
    }
}

/// A one-shot signal that can be awaited with a timeout.
private final class ReadySignal: @unchecked Sendable {
    private let lock = NSLock()
    private var result: HeadlessChromiumError??
    private var continuation: CheckedContinuation<Void, any Error>?

    func signal(_ error: HeadlessChromiumError?) {
        let continuation = lock.withLock { () -> CheckedContinuation<Void, any Error>? in
            guard result == nil else { return nil }
            result = .some(error)
            defer { self.continuation = nil }
            return self.continuation
        }
        if let error { continuation?.resume(throwing: error) } else { continuation?.resume() }
    }

    func wait(timeout: Duration, what: String) async throws {
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            if Task.isCancelled { return }
            self?.signal(HeadlessChromiumError("timed out after \(timeout) \(what)"))
        }
        defer { timer.cancel() }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let done = lock.withLock { () -> HeadlessChromiumError?? in
                if let result { return .some(result) }
                self.continuation = continuation
                return .none
            }
            switch done {
            case .none: break
            case .some(.none): continuation.resume()
            case .some(.some(let error)): continuation.resume(throwing: error)
            }
        }
    }
}

// MARK: - Process

private func systemClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #elseif canImport(Musl)
    Musl.close(fd)
    #else
    Darwin.close(fd)
    #endif
}

private func systemKill(_ pid: pid_t, _ signal: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.kill(pid, signal)
    #elseif canImport(Musl)
    Musl.kill(pid, signal)
    #else
    Darwin.kill(pid, signal)
    #endif
}

/// The browser under a `/bin/sh` watchdog, in a process group of its own. The watchdog's
/// stdin is a pipe whose write end only this process holds; when that end closes, because of
/// `stop`, `deinit` or the death of the test process, the watchdog asks the browser to quit,
/// kills the group 3 s later at the latest, and removes the work directory it was given.
final class WatchedProcess: @unchecked Sendable {
    let pid: pid_t
    private let lock = NSLock()
    private var controlFD: Int32
    private var exitStatus: Int32?

    /// `$1` is a directory to remove at the end (or ""), the rest the browser command. The
    /// guard reads the control pipe through fd 3 (an asynchronous list would get /dev/null as
    /// stdin) and ignores SIGTERM so that it outlives the browser; when the browser exits by
    /// itself, the shell ends its leftovers and exits with the browser's status.
    private static let watchdog = """
        workdir=$1; shift
        exec 3<&0
        "$@" </dev/null 3<&- &
        child=$!
        {
          trap '' TERM
          cat >/dev/null
          kill -TERM "$child" 2>/dev/null
          i=0
          while kill -0 "$child" 2>/dev/null && [ "$i" -lt 30 ]; do sleep 0.1; i=$((i+1)); done
          kill -KILL "$child" 2>/dev/null
          [ -n "$workdir" ] && rm -rf "$workdir"
          kill -KILL 0
        } <&3 >/dev/null 2>&1 &
        exec 3<&- 0</dev/null
        trap '' TERM
        wait "$child"
        status=$?
        kill -TERM 0 2>/dev/null
        exit "$status"
        """

    private init(pid: pid_t, controlFD: Int32) {
        self.pid = pid
        self.controlFD = controlFD
    }

    deinit { detach() }

    static func spawn(executable: String, arguments: [String], logPath: String, removeOnExit: String) throws -> WatchedProcess {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw HeadlessChromiumError("pipe failed: errno \(errno)") }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        // Only the watchdog may hold the read end, and nobody but us the write end.
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        defer { _ = systemClose(readEnd) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, readEnd, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGCHLD] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ["/bin/sh", "-c", watchdog, "beacon-chromium-watchdog", removeOnExit, executable] + arguments
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArgs.append(nil)
        defer { for arg in cArgs { free(arg) } }

        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", &actions, &attributes, cArgs, environ)
        guard rc == 0 else {
            _ = systemClose(writeEnd)
            throw HeadlessChromiumError("could not start \(executable): posix_spawn error \(rc)")
        }
        return WatchedProcess(pid: pid, controlFD: writeEnd)
    }

    /// "exit code 1" or "signal 9" for a wait status.
    static func describe(status: Int32) -> String {
        let signal = status & 0x7f
        return signal == 0 ? "exit code \((status >> 8) & 0xff)" : "signal \(signal)"
    }

    /// The wait status once the watchdog shell has exited (reaping it); nil while it runs.
    func exitStatusIfExited() -> Int32? {
        lock.withLock {
            if let exitStatus { return exitStatus }
            var status: Int32 = 0
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid || (rc == -1 && errno == ECHILD) {
                exitStatus = status
                return status
            }
            return nil
        }
    }

    /// Closes the control pipe (the browser is asked to quit), waits until the browser is gone
    /// (at most `grace`), then kills whatever is left of the group.
    func stop(grace: Duration) async {
        closeControl()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: grace)
        while exitStatusIfExited() == nil, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        killNow()
    }

    /// Kills the whole group at once and reaps the watchdog.
    func killNow() {
        closeControl()
        _ = systemKill(-pid, SIGKILL)
        lock.withLock {
            guard exitStatus == nil else { return }
            var status: Int32 = 0
            exitStatus = waitpid(pid, &status, 0) == pid ? status : -1
        }
    }

    /// For `deinit`: closes the control pipe and leaves the rest (quit, kill, clean up) to the
    /// watchdog, without blocking; a background thread reaps it.
    func detach() {
        closeControl()
        let pid = self.pid
        let reaped = lock.withLock { exitStatus != nil }
        guard !reaped else { return }
        lock.withLock { exitStatus = -1 }
        Thread.detachNewThread {
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
    }

    private func closeControl() {
        let fd = lock.withLock { () -> Int32 in
            defer { controlFD = -1 }
            return controlFD
        }
        if fd >= 0 { _ = systemClose(fd) }
    }
}

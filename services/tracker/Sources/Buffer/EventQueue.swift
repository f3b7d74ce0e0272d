import Atomics
import Dispatch

/// A bounded multi-producer, single-consumer queue without locks on the
/// producer side (Vyukov's intrusive MPSC list): request handlers push with
/// one atomic exchange, the Redis writer thread pops. The consumer sleeps on
/// a semaphore only when the queue is empty, so under load nobody blocks.
public final class EventQueue<Element>: @unchecked Sendable {
    private final class Node: AtomicReference, @unchecked Sendable {
        var element: Element?
        let next = ManagedAtomic<Node?>(nil)
        init(_ element: Element?) { self.element = element }
    }

    private let head: ManagedAtomic<Node>
    private var tail: Node  // consumer only
    private let weight = ManagedAtomic<Int>(0)
    private let consumerAsleep = ManagedAtomic<Bool>(false)
    private let wakeUp = DispatchSemaphore(value: 0)
    public let capacity: Int

    /// `capacity` bounds the summed weight (events) of queued elements.
    public init(capacity: Int) {
        let stub = Node(nil)
        head = ManagedAtomic(stub)
        tail = stub
        self.capacity = capacity
    }

    /// Events accepted and not yet released: queued, or taken by the consumer
    /// and not yet answered.
    public var count: Int { weight.load(ordering: .relaxed) }

    /// Adds an element weighing `weight` events; false when that would pass
    /// the capacity (the caller answers 503).
    public func push(_ element: Element, weight elementWeight: Int) -> Bool {
        let before = weight.loadThenWrappingIncrement(by: elementWeight, ordering: .acquiringAndReleasing)
        if before + elementWeight > capacity && before > 0 {
            weight.wrappingDecrement(by: elementWeight, ordering: .acquiringAndReleasing)
            return false
        }
        let node = Node(element)
        let previous = head.exchange(node, ordering: .acquiringAndReleasing)
        previous.next.store(node, ordering: .releasing)
        if consumerAsleep.load(ordering: .acquiring), consumerAsleep.exchange(false, ordering: .acquiringAndReleasing) {
            wakeUp.signal()
        }
        return true
    }

    /// Wakes the consumer from `waitForElements` without adding anything
    /// (e.g. to tell it to stop).
    public func wakeConsumer() {
        if consumerAsleep.exchange(false, ordering: .acquiringAndReleasing) { wakeUp.signal() }
    }

    /// Consumer only. Returns the next element, or nil when empty. Its weight
    /// stays counted until `release`, so work the consumer holds (e.g. while
    /// Redis is away) still fills the bound.
    public func pop() -> Element? {
        guard let next = tail.next.load(ordering: .acquiring) else { return nil }
        tail = next
        let element = next.element
        next.element = nil
        return element
    }

    /// Gives back the room of an element the consumer is done with.
    public func release(weight elementWeight: Int) {
        weight.wrappingDecrement(by: elementWeight, ordering: .acquiringAndReleasing)
    }

    private var isEmpty: Bool { tail.next.load(ordering: .acquiring) == nil }

    /// Consumer only. Waits until an element may be there or `timeout` passed.
    public func waitForElements(timeout: DispatchTimeInterval) {
        guard isEmpty else { return }
        consumerAsleep.store(true, ordering: .sequentiallyConsistent)
        if !isEmpty {
            // A producer raced us: if it already cleared the flag it will
            // signal, and that signal must be consumed here.
            if !consumerAsleep.exchange(false, ordering: .acquiringAndReleasing) { wakeUp.wait() }
            return
        }
        if wakeUp.wait(timeout: .now() + timeout) == .timedOut {
            if !consumerAsleep.exchange(false, ordering: .acquiringAndReleasing) { wakeUp.wait() }
        }
    }
}

import Dispatch

/// Nanoseconds on the monotonic clock: one time base for the sender's
/// answers and the watchers' arrivals, which run on different threads.
@inline(__always)
func monotonicNanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

import Synchronization

/// Waiting for CPU-bound work (a query embedding) or a shutdown step (a connection pool's run
/// loop) against a time budget.
package enum TaskDeadline {
    /// The task's value, or nil if it does not finish within `milliseconds` (the task goes on,
    /// its result unused: CPU-bound embedding cannot be interrupted).
    package static func value<T: Sendable>(of task: Task<T, Never>, within milliseconds: Double?) async -> T? {
        guard let milliseconds else { return await task.value }
        if milliseconds <= 0 { return nil }
        return await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            let once = ResumeOnce(continuation)
            let timer = Task {
                try? await Task.sleep(nanoseconds: UInt64(milliseconds * 1e6))
                once.resume(with: nil)
            }
            Task {
                let value = await task.value
                once.resume(with: value)
                timer.cancel()
            }
        }
    }
}

/// Resumes a continuation with the first value offered; later offers are ignored.
final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T?, Never>?>

    init(_ continuation: CheckedContinuation<T?, Never>) { self.continuation = Mutex(continuation) }

    func resume(with value: T?) {
        continuation.withLock { c in
            c?.resume(returning: value)
            c = nil
        }
    }
}

import Foundation

/// Admits CPU-heavy request work (embedding, retrieval) a few at a time, first come first
/// served. Without it, 16 concurrent retrievals on 2 cores share the CPU unevenly: in a load
/// run some requests waited 5 s while the median took 0.35 s. Waiting requests are suspended,
/// not blocking a thread.
actor ComputeGate {
    private let permits: Int
    private var inUse = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(permits: Int) { self.permits = max(1, permits) }

    /// Runs `work` once a permit is free, in arrival order.
    nonisolated func run<T: Sendable>(_ work: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        do {
            let result = try await work()
            await release()
            return result
        } catch {
            await release()
            throw error
        }
    }

    private func acquire() async {
        if inUse < permits {
            inUse += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty {
            inUse -= 1
        } else {
            // Hand the permit straight to the oldest waiter.
            waiters.removeFirst().resume()
        }
    }
}

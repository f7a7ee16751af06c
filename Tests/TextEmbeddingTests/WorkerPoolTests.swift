import Dispatch
import Synchronization
import Testing

@testable import TextEmbedding

#if canImport(Glibc)
    import Glibc
#endif

/// The pool hands jobs to its workers without a lock (a generation counter and an `active`
/// count): every iteration must run exactly once, in jobs back to back (workers spinning), after
/// pauses (workers asleep, woken), from several callers at once, and a pool must stop cleanly.
@Suite struct WorkerPoolTests {
    /// Runs `count` iterations on `pool`; each adds one to its own slot and records its thread.
    static func run(_ pool: WorkerPool, count: Int) -> (visits: [Int], threads: Set<UInt>) {
        let visits = UnsafeMutableBufferPointer<Int>.allocate(capacity: count)
        visits.initialize(repeating: 0)
        defer { visits.deallocate() }
        let threads = Mutex(Set<UInt>())
        pool.parallelFor(count) { i in
            visits[i] += 1
            // Long enough that a worker takes some iterations when it is awake.
            var x = 0.0
            for j in 0..<2_000 { x += Double(j ^ i) }
            if x < 0 { print(x) }
            threads.withLock { _ = $0.insert(UInt(pthread_self())) }
        }
        return (Array(visits), threads.withLock { $0 })
    }

    @Test func everyIterationRunsOnceInJobsBackToBack() {
        let pool = WorkerPool(extraThreads: 2)
        var threadsSeen = Set<UInt>()
        for job in 0..<5_000 {
            let count = 2 + job % 63
            let (visits, threads) = Self.run(pool, count: count)
            #expect(visits == [Int](repeating: 1, count: count), "job \(job)")
            threadsSeen.formUnion(threads)
            if visits != [Int](repeating: 1, count: count) { return }
        }
        #expect(threadsSeen.count > 1, "the workers never took an iteration")
    }

    @Test func sleepingWorkersAreWokenForTheNextJob() {
        let pool = WorkerPool(extraThreads: 1)
        var threadsSeen = Set<UInt>()
        for job in 0..<40 {
            usleep(3_000) // far past the workers' spin: they sleep
            let (visits, threads) = Self.run(pool, count: 16)
            #expect(visits == [Int](repeating: 1, count: 16), "job \(job)")
            threadsSeen.formUnion(threads)
        }
        #expect(threadsSeen.count == 2, "a sleeping worker was never woken to help")
    }

    @Test func concurrentCallersEachGetTheirOwnIterations() {
        let pool = WorkerPool(extraThreads: 1)
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for job in 0..<1_000 {
                let count = 3 + (job + caller) % 40
                if Self.run(pool, count: count).visits != [Int](repeating: 1, count: count) {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
    }

    @Test func poolsStopWhetherTheirWorkersSpinOrSleep() {
        for round in 0..<200 {
            let pool = WorkerPool(extraThreads: 3)
            let (visits, _) = Self.run(pool, count: 8)
            #expect(visits == [Int](repeating: 1, count: 8))
            if round % 2 == 1 { usleep(1_000) } // asleep by now; otherwise still spinning
        }
    }

    @Test func nestedCallsRunOnTheCallingThread() {
        let pool = WorkerPool(extraThreads: 1)
        let inner = Mutex([Int](repeating: 0, count: 8 * 8))
        pool.parallelFor(8) { i in
            pool.parallelFor(8) { j in inner.withLock { $0[i * 8 + j] += 1 } }
        }
        #expect(inner.withLock { $0 } == [Int](repeating: 1, count: 64))
    }
}

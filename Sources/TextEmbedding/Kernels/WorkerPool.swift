import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A few persistent threads that run the parallel parts of one forward pass (linear-layer
/// panels, attention heads) together with the calling thread.
///
/// Why not `DispatchQueue.concurrentPerform`: called from a Swift-concurrency task (a server
/// request), its iterations ran on the cooperative pool's threads and did not run in parallel
/// (measured: mpnet query embedding 31 ms on one thread and on two); and each call costs a
/// wake-up of GCD workers. These workers spin briefly between the many small parallel sections
/// of a forward pass, then sleep.
///
/// One job at a time: a caller that finds the pool busy (another task embedding concurrently)
/// runs its iterations itself, so concurrent callers never wait on each other.
final class WorkerPool: @unchecked Sendable {
    let extraThreads: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let busy = Atomic<Bool>(false)
    private let generation = Atomic<Int>(0)
    private let nextIndex = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    /// Workers holding the current job's closure (changed under the mutex when taken).
    private let active = Atomic<Int>(0)
    private var iterations = 0
    private var body: ((Int) -> Void)?
    private var threads: [pthread_t] = []
    private var stopping = false

    /// Spin this many checks (a few microseconds) before sleeping between jobs: long enough to
    /// catch the next parallel section of a forward pass, short enough not to starve other
    /// threads when several models run at once on few cores.
    static let spinChecks = 20_000

    init(extraThreads: Int) {
        self.extraThreads = max(0, extraThreads)
        mutex.initialize(to: pthread_mutex_t())
        wake.initialize(to: pthread_cond_t())
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        for _ in 0..<self.extraThreads {
            var thread = pthread_t()
            let context = Unmanaged.passUnretained(self).toOpaque()
            pthread_create(
                &thread, nil,
                { raw in
                    Unmanaged<WorkerPool>.fromOpaque(raw!).takeUnretainedValue().workerLoop()
                    return nil
                }, context)
            threads.append(thread)
        }
    }

    deinit {
        pthread_mutex_lock(mutex)
        stopping = true
        generation.add(1, ordering: .sequentiallyConsistent)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        for thread in threads { pthread_join(thread, nil) }
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        wake.deallocate()
        mutex.deallocate()
    }

    /// Calls `body(i)` for every `i` in `0..<count`, on the calling thread and the workers;
    /// returns when all calls have returned.
    func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        guard count > 1, extraThreads > 0,
            busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            pthread_mutex_lock(mutex)
            self.body = escaping
            iterations = count
            nextIndex.store(0, ordering: .relaxed)
            finished.store(0, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(mutex)
            runIterations(escaping, count)
            // Wait for the workers' last iterations, then for every worker to let go of the
            // closure (it must not outlive this scope); workers take it only under the mutex.
            while finished.load(ordering: .acquiring) < count { sched_yield() }
            pthread_mutex_lock(mutex)
            while active.load(ordering: .acquiring) > 0 {
                pthread_mutex_unlock(mutex)
                sched_yield()
                pthread_mutex_lock(mutex)
            }
            self.body = nil
            pthread_mutex_unlock(mutex)
        }
        busy.store(false, ordering: .releasing)
    }

    /// Pieces per thread of ``parallelRanges(_:_:)``: a thread that shares its core with another
    /// process's work (a SQLite query beside the embedding) claims fewer pieces instead of
    /// holding up the others at the end of every section.
    static let piecesPerThread = 4

    /// Calls `body` on consecutive ranges covering `0..<units`, claimed by the calling thread and
    /// the workers as they finish the previous one.
    func parallelRanges(_ units: Int, _ body: (Range<Int>) -> Void) {
        let pieces = min(units, (extraThreads + 1) * Self.piecesPerThread)
        guard pieces > 1 else {
            body(0..<units)
            return
        }
        parallelFor(pieces) { piece in body((units * piece / pieces)..<(units * (piece + 1) / pieces)) }
    }

    /// Rows a row-wise step (layer norm, converting activations) must have before it is split
    /// over the threads: a batched pass has hundreds, a single query a dozen (not worth a hand-over).
    static let parallelRowsThreshold = 32

    /// Calls `body` on ranges covering `0..<rows`: split over the threads for a batched pass's
    /// many rows, in one call on this thread for a few.
    func parallelRows(_ rows: Int, _ body: (Range<Int>) -> Void) {
        guard rows >= Self.parallelRowsThreshold, extraThreads > 0 else {
            body(0..<rows)
            return
        }
        let pieces = extraThreads + 1
        parallelFor(pieces) { piece in body((rows * piece / pieces)..<(rows * (piece + 1) / pieces)) }
    }

    private func runIterations(_ body: (Int) -> Void, _ count: Int) {
        while true {
            let i = nextIndex.add(1, ordering: .relaxed).oldValue
            if i >= count { return }
            body(i)
            finished.add(1, ordering: .releasing)
        }
    }

    private func workerLoop() {
        var seen = generation.load(ordering: .acquiring)
        while true {
            // Spin a little: the next parallel section of a forward pass usually follows shortly.
            var spins = 0
            while generation.load(ordering: .acquiring) == seen && spins < Self.spinChecks { spins += 1 }
            pthread_mutex_lock(mutex)
            while generation.load(ordering: .acquiring) == seen && !stopping { pthread_cond_wait(wake, mutex) }
            if stopping { pthread_mutex_unlock(mutex); return }
            seen = generation.load(ordering: .acquiring)
            runCurrentJob() // unlocks the mutex
            active.subtract(1, ordering: .releasing)
        }
    }

    /// Takes the current job (mutex held on entry, released here) and runs its iterations; the
    /// closure reference dies with this frame, before the caller is told the worker is done.
    @inline(never)
    private func runCurrentJob() {
        guard let job = body else {
            active.add(1, ordering: .relaxed) // balanced by the caller of this function
            pthread_mutex_unlock(mutex)
            return
        }
        active.add(1, ordering: .relaxed)
        let count = iterations
        pthread_mutex_unlock(mutex)
        runIterations(job, count)
    }
}

import CKernels
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
/// A forward pass hands over a few hundred sections, so the hand-over takes no lock: the caller
/// publishes a job by advancing `generation` (even: a job is open; odd: closed), workers that see
/// it announce themselves in `active` and check the generation again before touching the job —
/// the caller closes the job and waits for `active` to drop to zero before it may change the job,
/// so each side sees the other's step (both are sequentially consistent). The mutex and the
/// condition variable serve only workers that went to sleep; the caller touches them only when
/// `sleepers` says someone sleeps. (The previous design took the mutex on both sides of every
/// section: under load its wake-ups were 3–4 % of a server's time.)
///
/// One job at a time: a caller that finds the pool busy (another task embedding concurrently)
/// runs its iterations itself, so concurrent callers never wait on each other.
final class WorkerPool: @unchecked Sendable {
    let extraThreads: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let busy = Atomic<Bool>(false)
    /// Odd while no job is open (the initial state), even while one is.
    private let generation = Atomic<Int>(1)
    private let nextIndex = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    /// Workers inside the current job (or checking whether they may enter it).
    private let active = Atomic<Int>(0)
    /// Workers asleep on `wake`, or about to be.
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// Written by the caller only while the job is closed and no worker is active.
    private var iterations = 0
    private var body: ((Int) -> Void)?
    private var threads: [pthread_t] = []

    /// Pauses a worker spins (~50 µs at 25 ns a `pause`) before sleeping between jobs: long enough
    /// to catch the next parallel section of a forward pass, short enough not to take a core from
    /// other work (a server's requests) for long when no pass runs.
    static let workerSpins = 2_000

    /// Pauses the caller spins waiting for a worker's last iteration before it yields its core
    /// (the worker may have been preempted, and then spinning only delays it).
    static let callerSpins = 2_000

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
        stopping.store(true, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
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
            // Closed, and no worker active: the job is ours to write.
            self.body = escaping
            iterations = count
            nextIndex.store(0, ordering: .relaxed)
            finished.store(0, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent) // open
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(wake)
                pthread_mutex_unlock(mutex)
            }
            runIterations(escaping, count)
            var spins = 0
            while finished.load(ordering: .acquiring) < count { Self.wait(&spins) }
            // Close, then wait for every worker that entered to let go of the closure: it must
            // not outlive this scope. A worker entering after the close sees it and leaves.
            generation.add(1, ordering: .sequentiallyConsistent)
            spins = 0
            while active.load(ordering: .sequentiallyConsistent) > 0 { Self.wait(&spins) }
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// One step of the caller's wait: spin a while, then give the core away.
    private static func wait(_ spins: inout Int) {
        if spins < callerSpins {
            spins += 1
            ek_spin_pause()
        } else {
            sched_yield()
        }
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
        while !stopping.load(ordering: .relaxed) {
            let open = generation.load(ordering: .acquiring)
            guard open & 1 == 0, open != seen else {
                waitForJob(after: seen)
                continue
            }
            active.add(1, ordering: .sequentiallyConsistent)
            if generation.load(ordering: .sequentiallyConsistent) == open { runCurrentJob() }
            active.subtract(1, ordering: .sequentiallyConsistent)
            seen = open
        }
    }

    /// Spins until the generation moves past `seen`, then sleeps on the condition variable.
    private func waitForJob(after seen: Int) {
        for _ in 0..<Self.workerSpins {
            let now = generation.load(ordering: .acquiring)
            if now != seen && now & 1 == 0 { return }
            ek_spin_pause()
        }
        pthread_mutex_lock(mutex)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while !stopping.load(ordering: .sequentiallyConsistent) {
            let now = generation.load(ordering: .sequentiallyConsistent)
            if now != seen && now & 1 == 0 { break }
            pthread_cond_wait(wake, mutex)
        }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
    }

    /// Runs the open job's iterations; the closure reference dies with this frame, before the
    /// worker leaves `active`.
    @inline(never)
    private func runCurrentJob() {
        guard let job = body else { return }
        runIterations(job, iterations)
    }
}

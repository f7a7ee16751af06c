import Dispatch
import Foundation
import TextEmbedding

/// Gathers the embedding work of concurrent requests — query embeddings of retrievals, the texts
/// of writes — into one forward pass per model, as Hugging Face's text-embeddings-inference does.
///
/// One engine thread runs every forward pass, of both models, one at a time (each pass uses the
/// model's own worker threads): on a CPU, passes that run side by side only slow each other down,
/// and one pass over 16 short queries costs a fraction of 16 passes, since the weights stream
/// from memory once. While a pass runs, new requests queue; the next pass takes all of them that
/// share a model and a prompt (up to `maxTokensPerPass`), oldest first. A lone request waits for
/// nothing: batching comes from load, not from a timer.
///
/// A request may carry a deadline: if it is still queued when the deadline passes, it fails with
/// ``EmbeddingBatcher/DeadlineExceeded`` at once instead of waiting behind other batches (the
/// retrieval then falls back to its coarse ranking); once its pass has started, it finishes.
public final class EmbeddingBatcher: @unchecked Sendable {
    /// A queued request's deadline passed before its forward pass started.
    public struct DeadlineExceeded: Error, CustomStringConvertible {
        public var waitedMs: Double
        public var description: String { String(format: "the embedding waited %.0f ms in the queue, past its deadline", waitedMs) }
    }

    /// The batcher was stopped (its store is closing) before the request was queued.
    public struct Stopped: Error, CustomStringConvertible {
        public init() {}
        public var description: String { "the embedding engine has stopped: its store is closing or closed" }
    }

    /// Most tokens one forward pass takes from the queue (a request larger than this runs alone).
    public let maxTokensPerPass: Int

    /// Mutable only under `condition`.
    private final class Job: @unchecked Sendable {
        let embedder: SentenceEmbedder
        let encodings: [Encoding]
        let promptLength: Int
        let tokens: Int
        let deadline: UInt64?
        let enqueued = DispatchTime.now().uptimeNanoseconds
        var continuation: CheckedContinuation<[[Float]], Error>?

        init(embedder: SentenceEmbedder, encodings: [Encoding], promptLength: Int, deadline: UInt64?) {
            self.embedder = embedder
            self.encodings = encodings
            self.promptLength = promptLength
            self.deadline = deadline
            tokens = encodings.reduce(0) { $0 + $1.ids.count }
        }
    }

    private let condition = NSCondition()
    /// Where queued requests' deadlines fire: a queue of its own, not a task, because the
    /// cooperative pool's few threads may all be held by synchronous work (SQLite reads, JSON)
    /// exactly when the server is busy and deadlines matter.
    private let deadlines = DispatchQueue(label: "episodic.embedding-deadlines")
    private var queue: [Job] = []
    private var stopping = false
    private var statistics = Statistics()

    /// What the engine has done so far.
    public struct Statistics: Sendable, Equatable {
        /// Forward passes run.
        public var passes = 0
        /// Requests embedded (a request may hold several texts).
        public var requests = 0
        /// Requests that gave up past their deadline.
        public var expired = 0
        /// The most requests one pass served.
        public var largestPass = 0
        /// Requests waiting now.
        public var queued = 0
    }

    /// Starts the engine thread; it holds the batcher until ``stop()``.
    public init(maxTokensPerPass: Int = 4096) {
        self.maxTokensPerPass = max(1, maxTokensPerPass)
        let thread = Thread { [self] in self.engine() }
        thread.name = "episodic-embedding-batcher"
        thread.start()
    }

    /// Stops the engine once the queue is empty (requests queued meanwhile are still served;
    /// later ones fail with ``Stopped`` rather than wait for an engine that has gone).
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    public var currentStatistics: Statistics {
        condition.lock()
        defer { condition.unlock() }
        var snapshot = statistics
        snapshot.queued = queue.count
        return snapshot
    }

    /// The vectors of `texts` embedded as `purpose` by `embedder`, in one of the engine's forward
    /// passes. Tokenization runs here, in the caller's task. `deadline` (uptime nanoseconds):
    /// give up if the pass has not started by then.
    public func embed(_ texts: [String], as purpose: EmbeddingPurpose, with embedder: SentenceEmbedder, deadline: UInt64? = nil)
        async throws -> [[Float]]
    {
        guard !texts.isEmpty else { return [] }
        let job = Job(
            embedder: embedder, encodings: try embedder.encode(texts, as: purpose),
            promptLength: embedder.promptLength(for: purpose), deadline: deadline)
        let timer = deadline.map { deadline in
            let expiry = DispatchWorkItem { [weak self, weak job] in if let job { self?.expire(job) } }
            deadlines.asyncAfter(deadline: DispatchTime(uptimeNanoseconds: deadline), execute: expiry)
            return expiry
        }
        defer { timer?.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            if stopping {
                condition.unlock()
                continuation.resume(throwing: Stopped())
                return
            }
            if let deadline, DispatchTime.now().uptimeNanoseconds >= deadline {
                statistics.expired += 1
                condition.unlock()
                continuation.resume(throwing: DeadlineExceeded(waitedMs: 0))
                return
            }
            job.continuation = continuation
            queue.append(job)
            condition.signal()
            condition.unlock()
        }
    }

    /// Fails `job` if it is still queued.
    private func expire(_ job: Job) {
        condition.lock()
        guard let index = queue.firstIndex(where: { $0 === job }) else {
            condition.unlock()
            return
        }
        queue.remove(at: index)
        statistics.expired += 1
        let continuation = job.continuation
        condition.unlock()
        let waited = Double(DispatchTime.now().uptimeNanoseconds - job.enqueued) / 1e6
        continuation?.resume(throwing: DeadlineExceeded(waitedMs: waited))
    }

    private func engine() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty && stopping {
                condition.unlock()
                return
            }
            // Requests past their deadline fail here even if their timer has not fired yet.
            let now = DispatchTime.now().uptimeNanoseconds
            var expired: [Job] = []
            queue.removeAll { job in
                guard let deadline = job.deadline, deadline <= now else { return false }
                expired.append(job)
                return true
            }
            statistics.expired += expired.count
            guard let first = queue.first else {
                condition.unlock()
                for job in expired { job.continuation?.resume(throwing: DeadlineExceeded(waitedMs: Double(now - job.enqueued) / 1e6)) }
                continue
            }
            // The oldest request's model and prompt, and every queued request that shares them.
            var batch: [Job] = []
            var tokens = 0
            queue.removeAll { job in
                guard job.embedder === first.embedder && job.promptLength == first.promptLength else { return false }
                guard batch.isEmpty || tokens + job.tokens <= maxTokensPerPass else { return false }
                batch.append(job)
                tokens += job.tokens
                return true
            }
            statistics.passes += 1
            statistics.requests += batch.count
            statistics.largestPass = max(statistics.largestPass, batch.count)
            condition.unlock()
            for job in expired { job.continuation?.resume(throwing: DeadlineExceeded(waitedMs: Double(now - job.enqueued) / 1e6)) }

            let vectors = first.embedder.embed(encodings: batch.flatMap(\.encodings), promptLength: first.promptLength)
            var start = 0
            for job in batch {
                let count = job.encodings.count
                job.continuation?.resume(returning: Array(vectors[start..<(start + count)]))
                start += count
            }
        }
    }
}

import EpisodicMemory
import Foundation
import Hummingbird
import Prometheus
import Synchronization

/// The server's Prometheus metrics: requests by route and status, request and retrieval-stage
/// latency histograms, LRU, embedding-batcher and full-text-postings counters and episodes per
/// agent (the last four read at scrape time).
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let counterTotals = Mutex<[String: Int]>([:])
    private let reportedAgents = Mutex<Set<String>>([])
    static let latencyBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "episodic", metricName: metric, unitName: unit, helpText: help)
    }
    static var requests: MetricNameDescriptor { name("http_requests", "total", "HTTP requests by route template, method and status") }
    static var requestSeconds: MetricNameDescriptor { name("http_request_duration", "seconds", "HTTP request latency by route template") }
    static var stageSeconds: MetricNameDescriptor { name("retrieval_stage", "seconds", "Retrieval latency by mode and stage") }
    static var fallbacks: MetricNameDescriptor { name("retrieval_fallbacks", "total", "Hybrid retrievals answered by the coarse fallback") }
    static var lruEntries: MetricNameDescriptor { name("lru", "entries", "Vectors in the LRU cache by column") }
    static var agentEpisodes: MetricNameDescriptor { name("agent", "episodes", "Episodes per agent") }
    static var modelLoaded: MetricNameDescriptor { name("model", "loaded", "1 when the column's model is in memory") }
    static var lexicalMemoryBytes: MetricNameDescriptor { name("lexical_memory", "bytes", "Full-text postings held in memory (SQLite)") }
    static var lexicalMemoryAgents: MetricNameDescriptor {
        name("lexical_memory", "agents", "Agents whose postings are in memory (SQLite)")
    }

    func recordRequest(route: String, method: String, status: Int, seconds: Double) {
        registry.makeCounter(descriptor: Self.requests, labels: [("route", route), ("method", method), ("status", "\(status)")]).increment()
        registry.makeValueHistogram(descriptor: Self.requestSeconds, labels: [("route", route)], buckets: Self.latencyBuckets).record(
            seconds)
    }

    func recordRetrieval(_ timings: StageTimings, mode: String, fallback: Bool) {
        let stages: [(String, Double)] =
            mode == "baseline"
            ? [("query_embedding", timings.queryEmbeddingMs), ("coarse", timings.coarseMs), ("total", timings.totalMs)]
            : [
                ("query_embedding", timings.queryEmbeddingMs), ("coarse", timings.coarseMs), ("rerank", timings.rerankMs),
                ("total", timings.totalMs),
            ]
        for (stage, ms) in stages {
            registry.makeValueHistogram(
                descriptor: Self.stageSeconds, labels: [("mode", mode), ("stage", stage)],
                buckets: Self.latencyBuckets
            ).record(ms / 1000)
        }
        if fallback { registry.makeCounter(descriptor: Self.fallbacks, labels: [("mode", mode)]).increment() }
    }

    /// Prometheus text exposition, after refreshing the values read from the memory.
    func render(memory: EpisodicMemory) async -> String {
        let health = try? await memory.health()
        if let batching = health?.batching { record(batching) }
        for model in health?.models ?? [] {
            let column = model.column.name
            let s = model.cache
            for (name, value) in [("hits", s.hits), ("misses", s.misses), ("evictions", s.evictions)] {
                // The LRU keeps running totals; a Prometheus counter only moves forward by increments.
                let delta = advance("\(column).\(name)", to: value)
                let counter = registry.makeCounter(
                    descriptor: Self.name("lru_\(name)", "total", "LRU cache \(name) by column"),
                    labels: [("column", column)])
                if delta > 0 { counter.increment(by: Int64(delta)) }
            }
            registry.makeGauge(descriptor: Self.lruEntries, labels: [("column", column)]).set(Double(s.count))
            registry.makeGauge(descriptor: Self.modelLoaded, labels: [("role", model.role.rawValue)])
                .set(Double(model.loaded ? 1 : 0))
        }
        if let store = memory.store as? SQLiteEpisodeStore {
            let lexical = store.lexicalMemoryStatistics
            registry.makeGauge(descriptor: Self.lexicalMemoryBytes).set(Double(lexical.bytes))
            registry.makeGauge(descriptor: Self.lexicalMemoryAgents).set(Double(lexical.agents))
            for (name, value, help) in [
                ("searches", lexical.searches, "Lexical searches ranked from postings in memory"),
                ("loads", lexical.loads, "Agents' postings loaded into memory"),
                ("edits", lexical.edits, "Episodes this process added to or removed from postings in memory"),
            ] {
                let delta = advance("lexical.\(name)", to: value)
                let counter = registry.makeCounter(descriptor: Self.name("lexical_memory_\(name)", "total", help))
                if delta > 0 { counter.increment(by: Int64(delta)) }
            }
        }
        if let counts = try? await memory.agentEpisodeCounts() {
            // Agents whose last episode was deleted drop to 0 rather than keep a stale count.
            let gone = reportedAgents.withLock { reported -> Set<String> in
                let gone = reported.subtracting(counts.keys)
                reported = Set(counts.keys).union(reported)
                return gone
            }
            for (agent, count) in counts {
                registry.makeGauge(descriptor: Self.agentEpisodes, labels: [("agent_id", agent)]).set(Double(count))
            }
            for agent in gone { registry.makeGauge(descriptor: Self.agentEpisodes, labels: [("agent_id", agent)]).set(Double(0)) }
        }
        return registry.emitToString()
    }

    /// How far a running total moved since the last scrape (a Prometheus counter only moves
    /// forward by increments).
    private func advance(_ key: String, to value: Int) -> Int {
        counterTotals.withLock { seen -> Int in
            let d = value - (seen[key] ?? 0)
            seen[key] = value
            return d
        }
    }

    /// The batcher's forward passes and the requests they served: requests per pass is the
    /// batching a load achieves.
    private func record(_ s: EmbeddingBatcher.Statistics) {
        for (metric, help, value) in [
            ("embedding_passes", "Forward passes run by the embedding batcher", s.passes),
            ("embedding_batched_requests", "Embedding requests served by the batcher's passes", s.requests),
            ("embedding_expired_requests", "Embedding requests that gave up in the queue past their deadline", s.expired),
        ] {
            let delta = advance("batcher.\(metric)", to: value)
            let counter = registry.makeCounter(descriptor: Self.name(metric, "total", help))
            if delta > 0 { counter.increment(by: Int64(delta)) }
        }
        registry.makeGauge(descriptor: Self.name("embedding_queue", "requests", "Embedding requests waiting for a forward pass"))
            .set(Double(s.queued))
        registry.makeGauge(descriptor: Self.name("embedding_largest_pass", "requests", "The most requests one forward pass served"))
            .set(Double(s.largestPass))
    }
}

/// Counts requests and their latency by route template and status.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        context.logger.debug("request started", metadata: ["method": "\(request.method.rawValue)", "path": "\(request.uri.path)"])
        var status = 500
        defer {
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            metrics.recordRequest(
                route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: status, seconds: seconds)
        }
        do {
            let response = try await next(request, context)
            status = response.status.code
            return response
        } catch {
            status = APIError.from(error).status.code
            throw error
        }
    }
}

// swift-tools-version: 6.1
import PackageDescription

// Release binaries are built for the CPU they run on: without it Swift's SIMD multiply-add lowers
// to one `fmaf` library call per lane on baseline x86-64 (see DESIGN.md, "Swift SIMD").
// Set EPISODIC_PORTABLE=1 to build for the baseline CPU (e.g. binaries copied to other machines).
#if arch(x86_64) || arch(arm64)
let tuneForHost = Context.environment["EPISODIC_PORTABLE"] == nil
#else
let tuneForHost = false
#endif
let hostSwift: [SwiftSetting] = tuneForHost ? [.unsafeFlags(["-target-cpu", "native"])] : []
// The numeric targets are optimized in debug builds too: unoptimized SIMD code is ~100× slower,
// which would turn the parity tests (hundreds of forward passes) into minutes.
let numericSwift: [SwiftSetting] = hostSwift + [.unsafeFlags(["-O"], .when(configuration: .debug))]
// C kernels: optimized in every configuration; vectorized for the host CPU when tuned. The sum of
// a softmax row is a reduction: clang vectorizes it only when it may reassociate.
let numericC: [CSetting] = [
    .unsafeFlags(["-O3", "-fno-math-errno", "-ffp-contract=fast", "-fassociative-math", "-fno-signed-zeros",
                  "-fno-trapping-math"] + (tuneForHost ? ["-march=native"] : [])),
]

let package = Package(
    name: "EpisodicMemory",
    platforms: [.macOS(.v14)],
    products: [
        // The one way in: the EpisodicMemory facade (it re-exports the types it speaks in).
        .library(name: "EpisodicMemory", targets: ["EpisodicMemory"]),
        // The layers below it, for those who need one of them alone.
        .library(name: "TextEmbedding", targets: ["TextEmbedding"]),
        .library(name: "VectorSearch", targets: ["VectorSearch"]),
        .library(name: "EpisodeStore", targets: ["EpisodeStore"]),
        .library(name: "PostgresEpisodeStore", targets: ["PostgresEpisodeStore"]),
        .library(name: "HybridRetrieval", targets: ["HybridRetrieval"]),
        .library(name: "EpisodicServer", targets: ["EpisodicServer"]),
        .library(name: "EpisodicWire", targets: ["EpisodicWire"]),
        .executable(name: "episodic", targets: ["episodic"]),
        .executable(name: "episodic-bench", targets: ["episodic-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .target(name: "CKernels", cSettings: numericC),
        // Which CPU features the kernels chosen at run time may use (EPISODIC_CPU_FEATURES), for
        // the encoder's kernels and the search index's alike.
        .target(name: "CPUFeatures", swiftSettings: hostSwift),
        // The agent-scoped FTS5 tokenizer and ranking, registered on each SQLite connection.
        .target(name: "CAgentFTS", cSettings: [.unsafeFlags(["-O2"])], linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(
            name: "TextEmbedding",
            dependencies: [
                "CKernels", "CPUFeatures",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: numericSwift
        ),
        .target(
            name: "VectorSearch",
            dependencies: ["CKernels", "CPUFeatures", .product(name: "HeapModule", package: "swift-collections")],
            swiftSettings: numericSwift
        ),
        .target(
            name: "EpisodeStore",
            dependencies: [
                "VectorSearch", "CAgentFTS",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hostSwift
        ),
        // The scale-out backend: PostgreSQL with pgvector, through PostgresNIO's connection pool.
        .target(
            name: "PostgresEpisodeStore",
            dependencies: [
                "EpisodeStore", "VectorSearch",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hostSwift
        ),
        .target(
            name: "HybridRetrieval",
            dependencies: [
                "TextEmbedding", "VectorSearch", "EpisodeStore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hostSwift
        ),
        .target(
            name: "EpisodicMemory",
            dependencies: [
                "HybridRetrieval", "EpisodeStore", "PostgresEpisodeStore", "VectorSearch", "TextEmbedding",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: hostSwift
        ),
        // The JSON of an episode and of a retrieval, as HTTP and `import`/`export` read and write it.
        .target(name: "EpisodicWire", dependencies: ["EpisodicMemory"], swiftSettings: hostSwift),
        .target(name: "Evaluation", dependencies: ["EpisodicMemory"], swiftSettings: hostSwift),
        // The memory as Model Context Protocol tools (remember, recall, forget, recent).
        .target(
            name: "EpisodicMCP",
            dependencies: ["EpisodicMemory", "EpisodicWire", .product(name: "MCP", package: "swift-sdk")],
            swiftSettings: hostSwift
        ),
        .target(
            name: "EpisodicServer",
            dependencies: [
                "EpisodicMemory", "EpisodicWire", "EpisodicMCP", .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hostSwift
        ),
        // Exit statuses, progress bars and tables shared by the two command-line tools.
        .target(
            name: "CommandSupport",
            dependencies: ["EpisodicMemory", "EpisodicWire", .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: hostSwift
        ),
        .executableTarget(
            name: "episodic",
            dependencies: [
                "EpisodicMemory", "EpisodicWire", "Evaluation", "EpisodicServer", "CommandSupport", "EpisodicMCP",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Resources/sample_episodes.jsonl")],
            swiftSettings: hostSwift
        ),
        // Benchmarks with same-run peers; not part of the product. OpenBLAS is linked here only,
        // as the comparison engine of `gemm`.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .executableTarget(
            name: "episodic-bench",
            dependencies: [
                "EpisodicMemory", "EpisodicWire", "Evaluation", "CommandSupport", "CBLAS", "TextEmbedding", "PostgresEpisodeStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/EpisodicBench",
            resources: [.copy("Resources/bench_texts.json")],
            swiftSettings: hostSwift
        ),
        // Fixtures and helpers shared by the test targets (paths, the tiny BERT's weights, temporary stores).
        .target(
            name: "TestSupport",
            dependencies: ["EpisodicMemory", .product(name: "PostgresNIO", package: "postgres-nio")],
            path: "Tests/TestSupport",
            resources: [.copy("Fixtures")],
            // Optimized in debug too: writing the tiny BERT's 13.6 M seeded weights.
            swiftSettings: numericSwift
        ),
        .testTarget(
            name: "TextEmbeddingTests",
            dependencies: [
                "TextEmbedding", "CKernels", "CPUFeatures", "TestSupport",
                // A local HTTP server stands in for the Hugging Face hub in the fetch tests.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: hostSwift
        ),
        .testTarget(name: "VectorSearchTests", dependencies: ["VectorSearch", "CKernels", "CPUFeatures", "TextEmbedding", "TestSupport"], swiftSettings: hostSwift),
        .testTarget(
            name: "EpisodeStoreTests",
            dependencies: [
                "EpisodeStore", "PostgresEpisodeStore", "TextEmbedding", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: hostSwift
        ),
        .testTarget(
            name: "HybridRetrievalTests",
            dependencies: ["HybridRetrieval", "EpisodeStore", "TextEmbedding", "VectorSearch", "TestSupport"],
            swiftSettings: hostSwift
        ),
        .testTarget(name: "EpisodicMemoryTests", dependencies: ["EpisodicMemory", "TestSupport"], swiftSettings: hostSwift),
        .testTarget(name: "EpisodicWireTests", dependencies: ["EpisodicWire", "TestSupport"], swiftSettings: hostSwift),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "TestSupport"], swiftSettings: hostSwift),
        .testTarget(
            name: "EpisodicServerTests",
            dependencies: [
                "EpisodicServer", "EpisodicMemory", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: hostSwift
        ),
        .testTarget(
            name: "episodicTests",
            dependencies: [
                // Not episodic-bench: an executable named here is linked into the test process,
                // and with it OpenBLAS, whose worker threads the test process has no use for.
                "episodic", "EpisodicMemory", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "MCP", package: "swift-sdk"), .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: hostSwift
        ),
    ],
    swiftLanguageModes: [.v6]
)

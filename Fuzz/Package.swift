// swift-tools-version: 6.1
import PackageDescription

// libFuzzer harnesses for the parsers that read untrusted input. Not part of the product and not
// built by `swift build` in the root package: libFuzzer supplies `main`, so these link only with
// `-sanitize=fuzzer`. Run them with scripts/fuzz.sh.
let package = Package(
    name: "EpisodicFuzz",
    dependencies: [.package(name: "EpisodicMemory", path: "..")],
    targets: [
        .executableTarget(name: "FuzzTokenizer", dependencies: [.product(name: "TextEmbedding", package: "EpisodicMemory")]),
        .executableTarget(name: "FuzzSafetensors", dependencies: [.product(name: "TextEmbedding", package: "EpisodicMemory")]),
        .executableTarget(name: "FuzzEpisodeJSON", dependencies: [.product(name: "EpisodicWire", package: "EpisodicMemory"),
                                                                 .product(name: "EpisodicMemory", package: "EpisodicMemory")]),
        .executableTarget(name: "FuzzDates", dependencies: [.product(name: "EpisodeStore", package: "EpisodicMemory")]),
    ],
    swiftLanguageModes: [.v6]
)

// swift-tools-version: 6.1
import PackageDescription

// libFuzzer harnesses for the parsers that read untrusted input. Not part of the product and not
// built by `swift build` in the root package: they link only with `-sanitize=fuzzer` and lld
// (see FuzzDriver for how `main` reaches libFuzzer). Run them with scripts/fuzz.sh.
let package = Package(
    name: "EpisodicFuzz",
    dependencies: [.package(name: "EpisodicMemory", path: "..")],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(name: "FuzzTokenizer", dependencies: ["FuzzDriver", .product(name: "TextEmbedding", package: "EpisodicMemory")]),
        .executableTarget(name: "FuzzSafetensors", dependencies: ["FuzzDriver", .product(name: "TextEmbedding", package: "EpisodicMemory")]),
        .executableTarget(name: "FuzzEpisodeJSON", dependencies: ["FuzzDriver", .product(name: "EpisodicWire", package: "EpisodicMemory"),
                                                                 .product(name: "EpisodicMemory", package: "EpisodicMemory")]),
        .executableTarget(name: "FuzzDates", dependencies: ["FuzzDriver", .product(name: "EpisodeStore", package: "EpisodicMemory")]),
    ],
    swiftLanguageModes: [.v6]
)

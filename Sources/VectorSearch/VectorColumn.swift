/// What a vector column holds: the fast (coarse search) or the quality (rerank) embedding.
public enum VectorRole: String, Sendable, Codable, CaseIterable {
    case fast
    case quality
}

/// One vector column of a store: its name, its fixed dimension, and the model whose vectors it
/// holds (id and sha256 of the weights), so that vectors of different models are never mixed.
public struct VectorColumn: Sendable, Hashable, Codable {
    public var name: String
    public var role: VectorRole
    public var dimension: Int
    public var modelID: String
    public var modelSHA256: String

    public init(name: String, role: VectorRole, dimension: Int, modelID: String, modelSHA256: String = "") {
        self.name = name
        self.role = role
        self.dimension = dimension
        self.modelID = modelID
        self.modelSHA256 = modelSHA256
    }

    /// The default fast column: `vector_fastembed`, 384 dimensions.
    public static let defaultFastName = "vector_fastembed"
    /// The default quality column: `vector`, 1024 dimensions (bge-large-en-v1.5).
    public static let defaultQualityName = "vector"

    /// Checks that `vector` fits this column: the right length, every value finite.
    public func validate(_ vector: [Float]) throws(VectorError) {
        try VectorError.check(vector, column: name, dimension: dimension)
    }
}

/// A vector that does not fit its column, or a column that does not exist.
public enum VectorError: Error, Equatable, Sendable, CustomStringConvertible {
    case dimensionMismatch(column: String, expected: Int, actual: Int)
    case nonFiniteValue(column: String, index: Int)
    case unknownColumn(String)

    public var description: String {
        switch self {
        case .dimensionMismatch(let column, let expected, let actual):
            return "column \(column) holds \(expected)-dimensional vectors, got \(actual) values"
        case .nonFiniteValue(let column, let index):
            return "vector for column \(column) has a NaN or infinite value at index \(index)"
        case .unknownColumn(let name):
            return "no vector column named \(name)"
        }
    }

    /// Throws unless `vector` has `dimension` finite values.
    public static func check(_ vector: [Float], column: String, dimension: Int) throws(VectorError) {
        guard vector.count == dimension else {
            throw .dimensionMismatch(column: column, expected: dimension, actual: vector.count)
        }
        for (index, value) in vector.enumerated() where !value.isFinite {
            throw .nonFiniteValue(column: column, index: index)
        }
    }
}

/// One hit of a similarity search.
public struct ScoredEpisode: Sendable, Equatable {
    public var episodeID: String
    /// Inner product with the query (cosine for unit vectors).
    public var score: Float
    public var column: String

    public init(episodeID: String, score: Float, column: String) {
        self.episodeID = episodeID
        self.score = score
        self.column = column
    }
}

/// How token vectors become one sentence vector (`1_Pooling/config.json`).
public enum PoolingStrategy: String, Sendable, Equatable {
    /// The first token's vector (`[CLS]`), as bge models use.
    case cls
    /// The mean of the real tokens' vectors, as all-MiniLM and all-mpnet use.
    case mean
    /// The component-wise maximum over the real tokens.
    case max
    /// The sum of the real tokens divided by the square root of their count.
    case meanSqrtLength
}

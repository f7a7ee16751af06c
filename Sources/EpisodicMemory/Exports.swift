// `import EpisodicMemory` is all a user of the library writes: the facade speaks in these
// modules' types (Episode, VectorColumn, RetrievalOptions, …), so they come with it.
@_exported import EpisodeStore
@_exported import HybridRetrieval
@_exported import TextEmbedding
@_exported import VectorSearch

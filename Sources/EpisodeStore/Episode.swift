// EpisodeStore

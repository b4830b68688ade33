"""Local history: transcripts on disk (the truth), their codecs, and the search index."""

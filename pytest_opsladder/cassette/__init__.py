"""Cassette files: one versioned, self-describing file per run (ladder level 0)."""

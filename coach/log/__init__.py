"""The session log on this machine: the SQLite store, its schema, queries, corrections and review."""

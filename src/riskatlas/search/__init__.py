"""Full-text search over risks and measures (SQLite FTS5, PostgreSQL full-text search)."""

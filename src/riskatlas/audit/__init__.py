"""Append-only, SHA-256 hash-chained audit log of every write and every login."""

"""The grouping, its states and organisations, and (later) users and tokens."""

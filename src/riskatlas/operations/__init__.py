"""Operations: backup and restore, health and readiness, metrics and logs."""

"""The chaos run: the real system under faults, kills and pauses, then its books checked."""

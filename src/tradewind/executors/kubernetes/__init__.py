"""The kubernetes executor: one pod per task try (needs the kubernetes extra)."""

"""flatqat's training methods."""

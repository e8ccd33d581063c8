"""Framework-free QAT configuration."""

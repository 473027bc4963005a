"""sources layer (see docs/architecture.md section 1)."""

"""Integrations with frameworks (each imports its framework; nothing else
in the package does)."""

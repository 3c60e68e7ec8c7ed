"""Collecting nightmare-set case files as pytest items (filled in below)."""

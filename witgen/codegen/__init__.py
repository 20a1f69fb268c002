"""Placeholder; filled in by its phase."""

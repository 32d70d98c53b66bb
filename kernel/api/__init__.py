"""The kernel's own HTTP routes."""

"""The embedded engine: Amazon States Language interpreted on one machine."""

"""Pytest plugin and in-process test client for CoWorks services."""

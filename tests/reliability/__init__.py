"""Hardening tests: isolation under load, hostile input, trust boundaries, faults, leaks."""

"""Workload: token sequences and hashing, requests, trace replay, and the World that owns them
with the KV manager."""

"""Capture facets: each module turns one aspect of a run into plain JSON-able data.

Every facet exposes ``capture(...) -> dict``; they are pure or read-only, so each can be tested
alone and the orchestration in ``repro.run`` only wires them together.
"""

"""The Textual wizard: a view over the spec, the pipeline and its events (no deploy logic here).

Nothing in this package may import Azure SDKs at module level: the first screen must paint before
azure.ai.ml (~1.5 s) is imported. Azure calls go through ui/backend.py, inside thread workers.
"""

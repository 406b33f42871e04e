"""Shared pieces of the benchmarks in ``bench/``: broker, platform stand-in, sailors, stats."""

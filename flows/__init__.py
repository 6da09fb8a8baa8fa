"""Leadflow's flows, commands and what they share.

Importing the package tunes polars' allocator first (flows.allocator): jemalloc reads its
settings once, as polars loads, and every entry point imports this package before polars.
"""

from flows.allocator import tune_allocator

tune_allocator()

"""Helpers of bench/load.py: made-up names, database seeding, servers and timing."""

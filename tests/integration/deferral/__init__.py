"""Triggers for the triggerer's tests, importable by a real triggerer process (its PYTHONPATH
holds tests/integration): see triggering.py."""

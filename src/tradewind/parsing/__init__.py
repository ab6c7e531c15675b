"""Finding, loading and serializing DAG files."""

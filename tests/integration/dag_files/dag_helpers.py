"""A helper module beside the DAG files: not a DAG file itself, imported by uses_helper.py."""

DEFAULT_TAGS = ["from-helper"]


def task_ids(count):
    return [f"step_{n}" for n in range(count)]

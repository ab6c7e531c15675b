"""Example DAGs shipped with tradewind (loaded when ``core.load_examples`` is on)."""

"""The scheduler: metastore <-> decisions <-> executor.

- :mod:`~tradewind.scheduler.loop`: one pass and the wait between passes, nothing more.
- :mod:`~tradewind.scheduler.decide`: pure decisions (trigger rules, run outcomes, retries).
- What happens when a try ends: :mod:`~tradewind.scheduler.outcomes` decides it (pure),
  :mod:`~tradewind.scheduler.events` applies the executor's reports and writes it, and
  :mod:`~tradewind.scheduler.restarts` holds the restarting life cycle (a try cleared while
  it ran).
- :mod:`~tradewind.scheduler.dagruns` creates, starts and settles runs;
  :mod:`~tradewind.scheduler.queueing` queues ready tries.
- :mod:`~tradewind.scheduler.housekeeping`: heartbeat, orphan sweep
  (:mod:`~tradewind.scheduler.orphans`), run timeouts, and stopping the tries the metastore no
  longer expects (:mod:`~tradewind.scheduler.abandoned`).
- :mod:`~tradewind.scheduler.callbacks`: the processes that run DAG callbacks.
- :mod:`~tradewind.scheduler.cutoff`: a pass whose COMMIT was cut off by an outage.
"""

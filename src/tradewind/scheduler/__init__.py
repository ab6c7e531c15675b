"""The scheduler: metastore <-> decisions <-> executor.

- :mod:`~tradewind.scheduler.loop`: one pass and the wait between passes, nothing more.
- :mod:`~tradewind.scheduler.fullpass`: the part of a pass that comes now and then: runs
  created, started and settled, waiting tries woken, when the next one is due.
- :mod:`~tradewind.scheduler.decide`: pure decisions (trigger rules, run outcomes, retries).
- What happens when a try ends: :mod:`~tradewind.scheduler.outcomes` decides it (pure),
  :mod:`~tradewind.scheduler.events` applies the executor's reports and writes it, and
  :mod:`~tradewind.scheduler.restarts` holds the restarting life cycle (a try cleared while
  it ran).
- :mod:`~tradewind.scheduler.dagruns` creates, starts and settles runs (settling one returns
  the DAG callback due when it finished); :mod:`~tradewind.scheduler.queueing` queues ready
  tries.
- :mod:`~tradewind.scheduler.housekeeping`: heartbeat, orphan sweep
  (:mod:`~tradewind.scheduler.orphans`), run timeouts, and stopping the tries the metastore no
  longer expects (:mod:`~tradewind.scheduler.abandoned`), and the deadline alerts of unfinished
  runs (:mod:`~tradewind.scheduler.deadlines`).
- :mod:`~tradewind.scheduler.callbacks`: the DAG callbacks due (values a pass returns) and the
  processes that run them.
- :mod:`~tradewind.scheduler.cutoff`: a pass whose COMMIT was cut off by an outage.
"""

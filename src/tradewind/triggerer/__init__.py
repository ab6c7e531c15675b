"""The triggerer: runs the triggers of deferred tasks, thousands in one asyncio loop.

A part of its own, beside the scheduler: it reads and writes the metastore (the ``trigger``
table and the deferred task instances, through :mod:`tradewind.metastore.store.triggers`),
builds triggers from their class paths (:mod:`tradewind.triggers`) and appends their log lines
to the logs of the tries waiting on them (:mod:`tradewind.tasklogs`). Nothing imports it but
the command line and ``standalone``.

- :mod:`.runner`: the asyncio loop in its own thread, where triggers run, and the watchdog
  that names a trigger blocking that loop.
- :mod:`.job`: the triggerer's main loop (heartbeat, claim, start, cancel, write events).
- :mod:`.logs`: a trigger's log lines into its task's log.
- :mod:`.service`: running it as a process until it is stopped.
"""

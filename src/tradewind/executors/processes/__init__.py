"""The machinery of the executors whose tries run as local processes (sequential, local).

:mod:`.executor` is their shared base (queue, tries in flight, timers); :mod:`.forkserver` the
warm interpreter that forks the local executor's tries, :mod:`.warm` its per-DAG-file warm
processes and :mod:`.handover` how a workload reaches them; :mod:`.runchild` the fresh child
of the sequential executor; :mod:`.runners` what all of them share (loading and running a
runner, process groups). Nothing is imported here, so that naming the package costs nothing.
"""

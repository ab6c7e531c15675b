"""``tradewind standalone``: the whole system as one process tree on one host.

A part of its own, above the ones it starts: the web server (a child process, as
``tradewind webserver`` runs it) and the scheduler with its DAG processor (in this process). It
owns only their start and stop, and the first start's preparation (from
:mod:`tradewind.metastore.bootstrap`); neither the scheduler nor the web server knows of the
other, so neither can own this. The command (cli/standalone.py) builds the Settings and prints.
"""

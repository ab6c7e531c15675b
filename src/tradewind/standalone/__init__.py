"""``tradewind standalone``: the whole system as one process tree on one host.

A part of its own, above the ones it starts: the web server and the triggerer (child processes,
as ``tradewind webserver`` and ``tradewind triggerer`` run them) and the scheduler with its DAG
processor (in this process). It owns only their start and stop, and the first start's
preparation (from :mod:`tradewind.metastore.bootstrap`); none of the parts knows of the others,
so none can own this. The command (cli/standalone.py) builds the Settings and prints.
"""

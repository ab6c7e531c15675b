"""Manual runs: trigger a DAG with conf and an optional logical date.

The function lives in :mod:`tradewind.runtime.trigger`, where a try of TriggerDagRunOperator
reaches it too; the REST API, the CLI and ``dags test`` import it from here.
"""

from __future__ import annotations

from tradewind.runtime.trigger import TriggerError, trigger_dag

__all__ = ["TriggerError", "trigger_dag"]

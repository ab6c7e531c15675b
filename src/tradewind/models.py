"""Airflow's ``airflow.models`` spelling of authoring names, for DAG files and custom operators:
``from tradewind.models import BaseOperator`` (as the README's table of Airflow imports shows).

Part of the public authoring surface (guarded by tests/unit/test_public_api.py); it re-exports
from :mod:`tradewind.authoring` only. The metastore's ORM models are
:mod:`tradewind.metastore.models`, which DAG files never import.
"""

from tradewind.authoring.baseoperator import BaseOperator
from tradewind.authoring.dag import DAG
from tradewind.authoring.params import Param

__all__ = ["DAG", "BaseOperator", "Param"]

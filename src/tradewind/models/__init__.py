"""For custom operators: ``from tradewind.models import BaseOperator``."""

from tradewind.authoring.baseoperator import BaseOperator
from tradewind.authoring.dag import DAG
from tradewind.authoring.params import Param

__all__ = ["DAG", "BaseOperator", "Param"]

"""The bundled example DAGs import cleanly, validate and serialize."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

from tradewind.authoring.capture import capture
from tradewind.exceptions import ParamValidationError
from tradewind.parsing.serialize import deserialize_dag, serialize_dag

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "src" / "tradewind" / "example_dags"
EXAMPLE_FILES = sorted(EXAMPLES_DIR.glob("example_*.py"))


def test_there_are_examples() -> None:
    assert 5 <= len(EXAMPLE_FILES) <= 12


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.stem)
def test_example_imports_validates_and_serializes(path: Path) -> None:
    with capture() as captured:
        runpy.run_path(str(path))
    assert captured.orphans() == []
    assert [dag.dag_id for dag in captured.dags] == [path.stem]
    for dag in captured.dags:
        assert dag.fileloc == str(path)
        assert dag.tasks
        dag.validate()
        data = serialize_dag(dag)
        assert deserialize_dag(json.loads(json.dumps(data))).dag_id == dag.dag_id


def test_params_example_refuses_bad_conf() -> None:
    with capture() as captured:
        runpy.run_path(str(EXAMPLES_DIR / "example_params.py"))
    (dag,) = captured.dags
    assert dag.resolve_params({"limit": 5})["limit"] == 5
    with pytest.raises(ParamValidationError, match="param 'limit'"):
        dag.resolve_params({"limit": 0})

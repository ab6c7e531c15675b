"""DAG params: schemas, defaults, resolution against a run's conf."""

from __future__ import annotations

import runpy
import textwrap
from pathlib import Path

import pytest

from tradewind import DAG, Param
from tradewind.exceptions import DagDefinitionError, ParamValidationError


def test_plain_values_and_params_resolve_to_their_defaults() -> None:
    dag = DAG("p", params={"limit": Param(10, type="integer", minimum=1), "name": "orders"})
    assert dag.resolve_params(None) == {"limit": 10, "name": "orders"}
    assert dag.resolve_params({"limit": 3}) == {"limit": 3, "name": "orders"}


def test_conf_keys_that_are_not_params_pass_through() -> None:
    dag = DAG("p", params={"a": 1})
    assert dag.resolve_params({"extra": [1, 2]}) == {"a": 1, "extra": [1, 2]}


def test_invalid_conf_value_names_the_param() -> None:
    dag = DAG("p", params={"limit": Param(10, type="integer", minimum=1)})
    with pytest.raises(ParamValidationError, match="param 'limit': invalid value 0"):
        dag.resolve_params({"limit": 0})
    with pytest.raises(ParamValidationError, match=r"param 'limit'.*'ten' is not of type"):
        dag.resolve_params({"limit": "ten"})


def test_enum_and_format_keywords_are_checked() -> None:
    dag = DAG(
        "p",
        params={
            "table": Param("orders", enum=["orders", "customers"]),
            "day": Param("2024-01-01", type="string", format="date"),
        },
    )
    with pytest.raises(ParamValidationError, match="param 'table'"):
        dag.resolve_params({"table": "users"})
    with pytest.raises(ParamValidationError, match="param 'day'"):
        dag.resolve_params({"day": "not a date"})


def test_param_without_default_is_required() -> None:
    dag = DAG("p", params={"who": Param(type="string"), "nullable": Param(None, type="string")})
    with pytest.raises(ParamValidationError, match="'who' has no default and no value"):
        dag.resolve_params({"nullable": "x"})
    with pytest.raises(ParamValidationError, match="param 'nullable' is required"):
        dag.resolve_params({"who": "me"})
    assert dag.resolve_params({"who": "me", "nullable": "x"}) == {"who": "me", "nullable": "x"}


def test_conf_must_be_an_object() -> None:
    dag = DAG("p", params={"a": 1})
    with pytest.raises(ParamValidationError, match="conf must be a JSON object"):
        dag.resolve_params(["a"])  # type: ignore[arg-type]


def test_default_that_fails_its_schema_is_a_definition_error(tmp_path: Path) -> None:
    path = tmp_path / "params_dag.py"
    path.write_text(
        textwrap.dedent(
            """
            from tradewind import DAG, Param
            DAG("p", params={
                "limit": Param(0, type="integer", minimum=1),
            })
            """
        ).lstrip()
    )
    with pytest.raises(DagDefinitionError) as info:
        runpy.run_path(str(path))
    assert (info.value.fileloc, info.value.lineno) == (str(path), 3)
    assert "does not fit its schema" in str(info.value)


def test_invalid_schema_is_a_definition_error() -> None:
    with pytest.raises(DagDefinitionError, match="invalid schema"):
        Param(1, type="intger")


def test_non_json_default_is_a_definition_error() -> None:
    with pytest.raises(DagDefinitionError, match="not JSON-serializable"):
        Param(object())
    with pytest.raises(DagDefinitionError, match=r"param 'when'.*not JSON-serializable"):
        DAG("p", params={"when": {1, 2}})


def test_default_args_params_are_merged_under_explicit_params() -> None:
    dag = DAG("p", default_args={"params": {"a": 1, "b": 1}}, params={"b": 2})
    assert dag.resolve_params({}) == {"a": 1, "b": 2}


def test_resolved_values_are_copies() -> None:
    dag = DAG("p", params={"items": [1, 2]})
    resolved = dag.resolve_params({})
    resolved["items"].append(3)
    assert dag.resolve_params({}) == {"items": [1, 2]}


def test_param_serialize_round_trip() -> None:
    param = Param(5, description="how many", type="integer", maximum=9)
    assert Param.deserialize(param.serialize()) == param
    required = Param(type="string")
    back = Param.deserialize(required.serialize())
    assert not back.has_default
    assert back == required

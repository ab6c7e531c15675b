"""PythonVirtualenvOperator and ExternalPythonOperator: a function run by another interpreter."""

from __future__ import annotations

import base64
import hashlib
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tradewind import DAG, task
from tradewind.exceptions import DagDefinitionError, FailTask, SkipTask, TaskError
from tradewind.operators import ExternalPythonOperator, PythonVirtualenvOperator
from tradewind.operators.python_virtualenv import VENV_CACHE_KEY
from tradewind.operators.venvs import requirement_lines

RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"


def add(a, b, ds=None):  # type: ignore[no-untyped-def]
    import sys

    return {"sum": a + b, "ds": ds, "prefix": sys.prefix}


def describe(**context):  # type: ignore[no-untyped-def]
    import sys

    return {
        "prefix": sys.prefix,
        "base": sys.base_prefix,
        "version": f"{sys.version_info.major}.{sys.version_info.minor}",
        "year": context["logical_date"].year,
        "strings": virtualenv_string_args,  # type: ignore[name-defined]  # noqa: F821
    }


def skips():  # type: ignore[no-untyped-def]
    class AirflowSkipException(Exception):
        pass

    raise AirflowSkipException("nothing to do today")


def fails():  # type: ignore[no-untyped-def]
    class AirflowFailException(Exception):
        pass

    raise AirflowFailException("bad input, do not retry")


def breaks():  # type: ignore[no-untyped-def]
    raise ValueError("no such row")


def exits():  # type: ignore[no-untyped-def]
    import sys

    sys.exit(100)


def uses_requirement():  # type: ignore[no-untyped-def]
    import tinyreq

    return tinyreq.ANSWER


CONTEXT: dict[str, Any] = {"ds": "2024-01-02", "run_id": "r"}


def external(function: Any, **kwargs: Any) -> ExternalPythonOperator:
    with DAG("d"):
        return ExternalPythonOperator(
            task_id="t", python=sys.executable, python_callable=function, **kwargs
        )


def test_external_python_returns_the_functions_value() -> None:
    op = external(add, op_args=[1], op_kwargs={"b": 2})
    result = op.execute(CONTEXT)
    assert result["sum"] == 3
    assert result["ds"] == "2024-01-02"


def test_skip_and_fail_exceptions_in_the_child() -> None:
    with pytest.raises(SkipTask, match="nothing to do today"):
        external(skips).execute(CONTEXT)
    with pytest.raises(FailTask, match="do not retry"):
        external(fails).execute(CONTEXT)
    with pytest.raises(TaskError, match="ValueError: no such row"):
        external(breaks).execute(CONTEXT)


def test_skip_on_exit_code() -> None:
    with pytest.raises(SkipTask, match="code 100"):
        external(exits, skip_on_exit_code=100).execute(CONTEXT)
    with pytest.raises(TaskError, match="code 100"):
        external(exits).execute(CONTEXT)


def test_missing_interpreter_fails_the_try(tmp_path: Path) -> None:
    with DAG("d"):
        op = ExternalPythonOperator(task_id="t", python=str(tmp_path / "none"), python_callable=add)
    with pytest.raises(TaskError, match="does not exist"):
        op.execute(CONTEXT)


def test_only_functions_defined_with_def() -> None:
    with pytest.raises(DagDefinitionError, match="defined with def"), DAG("d"):
        ExternalPythonOperator(task_id="t", python=sys.executable, python_callable=lambda: 1)
    with pytest.raises(DagDefinitionError, match="serializer must be one of"), DAG("d"):
        ExternalPythonOperator(
            task_id="t", python=sys.executable, python_callable=add, serializer="json"
        )


def virtualenv(function: Any, **kwargs: Any) -> PythonVirtualenvOperator:
    with DAG("d"):
        return PythonVirtualenvOperator(task_id="t", python_callable=function, **kwargs)


def test_virtualenv_runs_in_a_cached_venv(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    op = virtualenv(
        describe,
        requirements=[],
        system_site_packages=False,
        python_version=RUNNING,
        string_args=["a", "b"],
    )
    context = {**CONTEXT, "logical_date": datetime(2024, 1, 2, tzinfo=UTC)}
    context[VENV_CACHE_KEY] = tmp_path / "venvs"
    first = op.execute(context)
    assert first["version"] == RUNNING
    assert first["prefix"] != first["base"]
    assert Path(first["prefix"]).parent == tmp_path / "venvs"
    assert first["year"] == 2024
    assert first["strings"] == ["a", "b"]
    second = op.execute(context)
    assert second["prefix"] == first["prefix"]
    assert [p.name for p in (tmp_path / "venvs").iterdir() if p.is_dir()] == [
        Path(first["prefix"]).name
    ]


def test_virtualenv_without_a_cache_uses_a_fresh_venv() -> None:
    op = virtualenv(describe, system_site_packages=False)
    result = op.execute({**CONTEXT, "logical_date": __import__("datetime").datetime(2024, 1, 2)})
    assert not Path(result["prefix"]).exists()


def test_virtualenv_refuses_a_python_version_that_is_not_installed() -> None:
    with pytest.raises(TaskError, match=r"no python2\.1 interpreter"):
        virtualenv(add, python_version="2.1", op_args=[1, 2]).execute(CONTEXT)


def _tiny_wheel(folder: Path) -> Path:
    """A pure-Python wheel of one module, ``tinyreq`` (so pip installs it offline)."""
    files = {
        "tinyreq.py": "ANSWER = 42\n",
        "tinyreq-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinyreq\nVersion: 1.0\n",
        "tinyreq-1.0.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    record.append("tinyreq-1.0.dist-info/RECORD,,")
    files["tinyreq-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / "tinyreq-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


def test_virtualenv_installs_its_requirements(tmp_path: Path) -> None:
    wheel = _tiny_wheel(tmp_path)
    op = virtualenv(
        uses_requirement,
        requirements=f"# a local wheel\n{wheel}\n",
        system_site_packages=False,
        pip_install_options=["--no-index", "--quiet"],
        venv_cache_path=str(tmp_path / "cache"),
    )
    assert op.execute(CONTEXT) == 42


def test_requirement_lines() -> None:
    assert requirement_lines("a==1\n\n# note\n b \n") == ("a==1", "b")
    assert requirement_lines(None) == ()


def test_task_virtualenv_runs_the_function_without_its_decorator(tmp_path: Path) -> None:
    with DAG("d") as dag:

        @task.virtualenv(system_site_packages=False, venv_cache_path=str(tmp_path))
        def double(x):  # type: ignore[no-untyped-def]
            return x * 2

        @task.external_python(python=sys.executable)
        def triple(x):  # type: ignore[no-untyped-def]
            return x * 3

        double(4)
        triple(5)
    assert dag.get_task("double").custom_operator_name == "@task.virtualenv"
    assert dag.get_task("double").execute(CONTEXT) == 8
    assert dag.get_task("triple").execute(CONTEXT) == 15

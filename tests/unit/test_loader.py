"""Importing DAG files in child processes: every bad file becomes an error naming the file.

The sample files live in tests/integration/dag_files (the processor tests use them too). Each
file is parsed by :func:`children.parse_files`, the way the DAG processor does it: in a forked
child with a time limit.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tradewind.parsing import children, loader

SAMPLES = Path(__file__).parents[1] / "integration" / "dag_files"
SYNTAX_ERROR = 'from tradewind import DAG\n\nwith DAG("broken"):\n    x = (1,\n'

# file -> (line of the error or None, words the message must contain)
BAD_FILES: dict[str, tuple[int | None, str]] = {
    "bad_syntax.py": (4, "SyntaxError"),
    "bad_raises.py": (9, "the warehouse is unreachable"),
    "bad_sys_exit.py": (None, "sys.exit(3)"),
    "bad_os_exit.py": (None, "exited with code 9"),
    "bad_segfault.py": (None, "SIGSEGV"),
    "bad_infinite_loop.py": (None, "longer than 1 s"),
    "bad_cycle.py": (8, "a -> b -> c -> a"),
    "bad_duplicate_task.py": (10, "task id 'same' is already used"),
    "bad_missing_module.py": (5, "No module named 'tradewind_no_such_module'"),
    "bad_orphan_task.py": (11, "task 'outside' is not in any DAG"),
}
GOOD_FILES = {
    "good_chain.py": ["good_chain"],
    "good_taskflow.py": ["good_taskflow"],
    "prints.py": ["prints"],
    "uses_helper.py": ["uses_helper"],
    "same_id_first.py": ["same_id"],
    "same_id_second.py": ["same_id"],
    "no_dag.py": [],
    "dag_helpers.py": [],
}


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, loader.ParsedFile]:
    """All sample files parsed in one go, as one scan of the processor would."""
    folder = tmp_path_factory.mktemp("dags")
    for sample in SAMPLES.glob("*.py"):
        shutil.copy(sample, folder)
    (folder / "bad_syntax.py").write_text(SYNTAX_ERROR)
    results = children.parse_files(
        sorted(folder.glob("*.py")), processes=4, timeout=1.0, sys_path=[str(folder)]
    )
    return {Path(result.fileloc).name: result for result in results}


def test_every_file_of_the_scan_gets_a_result(parsed: dict[str, loader.ParsedFile]) -> None:
    assert set(parsed) == set(BAD_FILES) | set(GOOD_FILES)


@pytest.mark.parametrize("name", sorted(GOOD_FILES))
def test_good_files_parse_beside_the_bad_ones(
    parsed: dict[str, loader.ParsedFile], name: str
) -> None:
    result = parsed[name]
    assert result.errors == []
    assert [d.dag_id for d in result.dags] == GOOD_FILES[name]


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_an_error_naming_file_and_line(
    parsed: dict[str, loader.ParsedFile], name: str
) -> None:
    line, words = BAD_FILES[name]
    result = parsed[name]
    assert len(result.errors) == 1, result.errors
    message = result.errors[0].message
    assert "\n" not in message.strip()
    where = result.fileloc if line is None else f"{result.fileloc}:{line}:"
    assert message.startswith(where), message
    assert words in message
    # The full text shown to the user carries the same facts.
    assert words in result.errors[0].stacktrace


def test_a_task_outside_any_dag_does_not_hide_the_good_dag(
    parsed: dict[str, loader.ParsedFile],
) -> None:
    assert [d.dag_id for d in parsed["bad_orphan_task.py"].dags] == ["bad_orphan_task"]


def test_exception_keeps_the_traceback_of_the_dag_file(
    parsed: dict[str, loader.ParsedFile],
) -> None:
    result = parsed["bad_raises.py"]
    text = result.errors[0].stacktrace
    assert text.startswith("Traceback (most recent call last):")
    assert f'File "{result.fileloc}", line 9' in text
    assert "RuntimeError: the warehouse is unreachable" in text
    # Frames of tradewind's own loader are noise to the author of the DAG file.
    assert "loader.py" not in text


def test_print_output_is_captured_not_mixed_into_the_result(
    parsed: dict[str, loader.ParsedFile],
) -> None:
    output = parsed["prints.py"].output
    assert "hello from a DAG file" in output
    assert "and to stderr" in output


def test_parsed_dags_are_plain_serialized_data(parsed: dict[str, loader.ParsedFile]) -> None:
    (chain,) = parsed["good_chain.py"].dags
    assert chain.hash
    round_trip = loader.ParsedFile.from_json(parsed["good_chain.py"].to_json())
    assert round_trip.dags[0].data == chain.data
    assert round_trip.dags[0].hash == chain.hash


def test_same_dag_id_twice_in_one_file_keeps_the_first(tmp_path: Path) -> None:
    path = tmp_path / "twice.py"
    path.write_text(
        "from datetime import datetime\n"
        "from tradewind import DAG\n"
        "DAG('twice', start_date=datetime(2024, 1, 1), description='first')\n"
        "DAG('twice', start_date=datetime(2024, 1, 1), description='second')\n"
    )
    imported = loader.import_dags(path)
    assert [d.description for d in imported.dags] == ["first"]
    (error,) = imported.errors
    assert error.message.startswith(f"{path}:4: dag_id 'twice' is defined twice")


def test_files_with_the_same_name_in_two_folders_do_not_collide(tmp_path: Path) -> None:
    for team in ("sales", "ops"):
        folder = tmp_path / team
        folder.mkdir()
        (folder / "etl.py").write_text(
            "from datetime import datetime\n"
            "from tradewind import DAG\n"
            f"DAG('{team}_etl', start_date=datetime(2024, 1, 1))\n"
        )
    first = loader.import_dags(tmp_path / "sales" / "etl.py")
    second = loader.import_dags(tmp_path / "ops" / "etl.py")
    assert [d.dag_id for d in first.dags] == ["sales_etl"]
    assert [d.dag_id for d in second.dags] == ["ops_etl"]


def test_a_child_killed_on_timeout_leaves_no_process_behind(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    path = tmp_path / "spawns.py"
    # The file starts a background sleeper in its process group, then hangs.
    path.write_text(
        "import subprocess, time\n"
        f"proc = subprocess.Popen(['sleep', '60'])\n"
        f"open({str(marker)!r}, 'w').write(str(proc.pid))\n"
        "time.sleep(60)\n"
    )
    (result,) = children.parse_files([path], processes=1, timeout=1.0)
    assert "longer than 1 s" in result.errors[0].message
    pid = int(marker.read_text())
    assert not _running(pid)


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    # A zombie (state Z) has ended; only its parent has yet to collect it.
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_files_after_a_bad_one_in_the_same_child_still_parse(tmp_path: Path) -> None:
    # One parsing process: the files go to it in batches, the bad ones among the good.
    good = "from tradewind import DAG\nfrom tradewind.operators import EmptyOperator\n"
    good += 'with DAG("{name}", schedule=None):\n    EmptyOperator(task_id="t")\n'
    files = {
        "a_good.py": good.format(name="a"),
        "b_exits.py": "import os\nos._exit(4)\n",
        "c_good.py": good.format(name="c"),
        "d_hangs.py": "import time\ntime.sleep(60)\n",
        "e_good.py": good.format(name="e"),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    results = children.parse_files(sorted(tmp_path.glob("*.py")), processes=1, timeout=1.0)
    by_name = {Path(r.fileloc).name: r for r in results}
    assert set(by_name) == set(files)
    for name, dag_id in (("a_good.py", "a"), ("c_good.py", "c"), ("e_good.py", "e")):
        assert [d.dag_id for d in by_name[name].dags] == [dag_id]
        assert by_name[name].errors == []
    assert "exited with code 4" in by_name["b_exits.py"].errors[0].message
    assert "longer than 1 s" in by_name["d_hangs.py"].errors[0].message

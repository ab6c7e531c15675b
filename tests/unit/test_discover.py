"""Which files under the DAGs folder the processor looks at, and which it would import."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradewind.parsing import discover

DAG_SOURCE = "from tradewind import DAG\n"


def _make(root: Path, *relative: str) -> None:
    for name in relative:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(DAG_SOURCE)


def _ignore(folder: Path, *lines: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / discover.IGNORE_FILE).write_text("\n".join(lines) + "\n")


def _found(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in discover.iter_python_files(root))


def test_finds_python_files_at_any_depth_and_nothing_else(tmp_path: Path) -> None:
    _make(tmp_path, "a.py", "team/b.py", "team/deep/c.py")
    (tmp_path / "notes.txt").write_text("dag tradewind")
    (tmp_path / "data.pyc").write_bytes(b"\0")
    assert _found(tmp_path) == ["a.py", "team/b.py", "team/deep/c.py"]


def test_hidden_entries_and_pycache_are_skipped(tmp_path: Path) -> None:
    _make(tmp_path, "kept.py", ".git/hooks/x.py", ".hidden.py", "__pycache__/y.py", "t/.venv/z.py")
    assert _found(tmp_path) == ["kept.py"]


def test_a_single_file_can_be_the_dags_folder(tmp_path: Path) -> None:
    _make(tmp_path, "one.py")
    (tmp_path / "readme.md").write_text("")
    assert list(discover.iter_python_files(tmp_path / "one.py")) == [tmp_path / "one.py"]
    assert list(discover.iter_python_files(tmp_path / "readme.md")) == []
    assert list(discover.iter_python_files(tmp_path / "missing")) == []


def test_name_pattern_matches_files_and_folders_at_any_depth(tmp_path: Path) -> None:
    _make(tmp_path, "etl.py", "scratch_1.py", "team/scratch_2.py", "scratch_dir/etl.py")
    _ignore(tmp_path, "# experiments live beside the real DAGs", "", "scratch_*")
    assert _found(tmp_path) == ["etl.py"]


def test_path_pattern_is_relative_to_the_ignore_file(tmp_path: Path) -> None:
    _make(tmp_path, "legacy/old.py", "team/legacy/old.py", "tmp/a/b.py", "tmp.py", "keep.py")
    _ignore(tmp_path, "legacy/*.py", "tmp/**")
    assert _found(tmp_path) == ["keep.py", "team/legacy/old.py", "tmp.py"]


def test_negation_takes_a_file_back_in(tmp_path: Path) -> None:
    _make(tmp_path, "a_wip.py", "b_wip.py", "keep_wip.py", "done.py")
    _ignore(tmp_path, "*_wip.py", "!keep_wip.py")
    assert _found(tmp_path) == ["done.py", "keep_wip.py"]


def test_the_last_matching_rule_wins(tmp_path: Path) -> None:
    _make(tmp_path, "keep_wip.py", "done.py")
    _ignore(tmp_path, "!keep_wip.py", "*_wip.py")
    assert _found(tmp_path) == ["done.py"]


def test_nested_ignore_file_applies_below_its_folder_only(tmp_path: Path) -> None:
    _make(tmp_path, "draft.py", "team/draft.py", "team/sub/draft.py", "team/legacy/x.py")
    _make(tmp_path, "legacy/x.py")
    _ignore(tmp_path / "team", "draft.py", "legacy/*")
    assert _found(tmp_path) == ["draft.py", "legacy/x.py"]


def test_nested_ignore_file_can_take_back_what_a_parent_ignores(tmp_path: Path) -> None:
    _make(tmp_path, "a_wip.py", "team/a_wip.py", "team/b_wip.py")
    _ignore(tmp_path, "*_wip.py")
    _ignore(tmp_path / "team", "!a_wip.py")
    assert _found(tmp_path) == ["team/a_wip.py"]


def test_ignored_folder_is_not_entered(tmp_path: Path) -> None:
    _make(tmp_path, "vendor/lib.py", "vendor/dags/etl.py", "etl.py")
    _ignore(tmp_path, "vendor/")
    # A negation cannot reach into a folder that is ignored as a whole, as in .gitignore.
    _ignore(tmp_path / "vendor", "!*")
    assert _found(tmp_path) == ["etl.py"]


@pytest.mark.parametrize(
    ("content", "imported"),
    [
        (b"from tradewind import DAG\n", True),
        (b"import tradewind\nwith tradewind.DAG('x'): ...\n", True),
        (b"from airflow import DAG\n", True),
        (b"# uses Tradewind to build a Dag\n", True),
        (b"from tradewind.operators import EmptyOperator\n", False),
        (b"def build_dag(): ...\n", False),
        (b"import os\nos.remove('/important')\n", False),
        (b"", False),
    ],
)
def test_safe_mode_imports_only_files_that_mention_a_dag_and_tradewind(
    content: bytes, imported: bool
) -> None:
    assert discover.might_contain_dag(Path("x.py"), content) is imported

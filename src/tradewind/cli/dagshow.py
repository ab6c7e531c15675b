"""``tradewind dags show``: a DAG's task graph as text, as Graphviz DOT, or drawn by Graphviz.

Text and DOT come from the serialized DAG (:mod:`tradewind.parsing.registry`); an image needs
Graphviz's ``dot`` program, which is looked up on the PATH only when an image is asked for.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import click

from tradewind.cli._common import open_metastore, user_errors
from tradewind.exceptions import TradewindError
from tradewind.parsing import registry

FORMATS = ("text", "dot", "svg")
# file extension -> what --save writes; the image formats are drawn by `dot -T<format>`
SAVE_FORMATS = {".txt": "text", ".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png"}
_DRAWN = frozenset({"svg", "png"})


@click.command()
@click.argument("dag_id")
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    default=None,
    help="text (the default), Graphviz DOT, or SVG drawn by Graphviz's dot.",
)
@click.option("--dot", is_flag=True, hidden=True, help="Same as --format dot.")
@click.option(
    "--save",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file; its extension (.dot, .gv, .svg, .png, .txt) sets the format.",
)
def show(dag_id: str, format_: str | None, dot: bool, save: Path | None) -> None:
    """Show a DAG's tasks and edges (as text, DOT or SVG)."""
    chosen = _chosen_format(format_, dot, save)
    with open_metastore() as sessions, sessions() as session, user_errors(TradewindError):
        dag = registry.load_serialized(session, dag_id)
    if chosen == "text":
        content = (registry.describe(dag) + "\n").encode()
    else:
        source = registry.to_dot(dag) + "\n"
        content = draw(source, chosen) if chosen in _DRAWN else source.encode()
    if save is None:
        click.echo(content, nl=False)
        return
    try:
        save.write_bytes(content)
    except OSError as exc:
        raise click.ClickException(f"cannot write {save}: {exc.strerror or exc}") from None
    click.echo(f"Saved the graph of {dag_id} to {save} ({chosen}).")


def _chosen_format(format_: str | None, dot: bool, save: Path | None) -> str:
    if dot:
        format_ = format_ or "dot"
    if save is None:
        return format_ or "text"
    by_name = SAVE_FORMATS.get(save.suffix.lower())
    if by_name is None:
        known = ", ".join(SAVE_FORMATS)
        raise click.BadParameter(
            f"cannot tell the format of {save.name!r}: use one of {known}", param_hint="--save"
        )
    if format_ is not None and format_ != by_name:
        raise click.BadParameter(
            f"{save.name!r} is a {by_name} file but --format is {format_}", param_hint="--save"
        )
    return by_name


def draw(source: str, image_format: str) -> bytes:
    """``source`` (DOT) drawn by Graphviz as ``image_format``; a clear error without it."""
    program = shutil.which("dot")
    if program is None:
        raise click.ClickException(
            f"drawing {image_format.upper()} needs Graphviz's `dot` program, which is not on "
            "the PATH (install graphviz, e.g. `apt install graphviz`); "
            "`--format dot` prints the graph without it"
        )
    done = subprocess.run(
        [program, f"-T{image_format}"], input=source.encode(), capture_output=True, check=False
    )
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip() or f"exit code {done.returncode}"
        raise click.ClickException(f"Graphviz's dot failed: {why}")
    return done.stdout

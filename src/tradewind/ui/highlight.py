"""Python source as HTML lines with syntax highlighting (Pygments' lexer; the colours are CSS
classes named as Pygments' short token names, styled in app.css)."""

from __future__ import annotations

from markupsafe import Markup, escape
from pygments.lexers import PythonLexer
from pygments.token import STANDARD_TYPES, _TokenType

# Token classes shown as plain text (whitespace, names, punctuation): no span for them.
PLAIN = frozenset({"w", "n", "p"})
# Sources larger than this are shown plain: lexing them would slow the page for little.
MAX_HIGHLIGHTED_CHARS = 1_000_000


def css_class(kind: _TokenType) -> str:
    """The short class of a token type, or of its nearest typed parent ("" for plain text)."""
    while kind not in STANDARD_TYPES and kind.parent is not None:
        kind = kind.parent
    name = str(STANDARD_TYPES.get(kind, ""))
    return "" if name in PLAIN else name


def python_lines(source: str) -> list[Markup]:
    """One HTML fragment per line of ``source``: every token in a span of its class, each span
    closed on its own line (a multi-line string becomes a span per line)."""
    if len(source) > MAX_HIGHLIGHTED_CHARS:
        return [escape(line) for line in source.splitlines()]
    lines: list[list[str]] = [[]]
    lexer = PythonLexer(stripnl=False, ensurenl=False)
    for kind, value in lexer.get_tokens(source):
        name = css_class(kind)
        for index, piece in enumerate(value.split("\n")):
            if index:
                lines.append([])
            if piece:
                text = str(escape(piece))
                lines[-1].append(f'<span class="{name}">{text}</span>' if name else text)
    if lines and not lines[-1]:
        lines.pop()
    return [Markup("".join(parts)) for parts in lines]

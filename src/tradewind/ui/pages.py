"""The UI's routes."""

from __future__ import annotations

from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    """Add the UI's pages and static files to ``app``."""

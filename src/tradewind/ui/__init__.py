"""The web UI: server-rendered pages (Jinja2) with a little JavaScript for live updates."""

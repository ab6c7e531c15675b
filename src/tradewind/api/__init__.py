"""The web server: the REST API under /api/v1, authentication, and the app that also serves the UI.

It never imports DAG files; it reads the serialized DAGs the DAG processor stored.
"""

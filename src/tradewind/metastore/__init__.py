"""The metastore: SQLAlchemy models, engines, the schema's migrations and every query.

Import the submodules (``engine``, ``models``, ``schema``, ``store``) directly.
"""

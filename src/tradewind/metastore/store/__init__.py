"""Every query of the metastore, one module per area; callers pass the session in."""

"""The task runner: runs one try of one task in its own process (see :mod:`.runner`)."""

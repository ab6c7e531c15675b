"""Crashes the interpreter while being imported (tradewind DAG file)."""

import ctypes
import faulthandler

# pytest turns on faulthandler, and the forked child inherits it: the crash report would
# print the whole test run's stack. The DAG processor itself never turns it on.
faulthandler.disable()
ctypes.string_at(0)

"""Mentions tradewind and a dag, so safe mode imports it, but defines no DAG."""

import tradewind

VERSION = tradewind.__name__

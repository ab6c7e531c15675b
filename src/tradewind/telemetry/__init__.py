"""Telemetry: traces and OpenLineage events, sent off the hot path."""

"""The kubernetes executor: one pod per task try (needs the kubernetes extra)."""

from tradewind.executors.kubernetes.executor import KubernetesExecutor

__all__ = ["KubernetesExecutor"]

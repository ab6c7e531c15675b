"""What a task try is, in the words every part shares: its key and its workload.

A :class:`TaskKey` names one try of one task instance; a :class:`Workload` is everything a
try needs to run, as plain values. The scheduler builds them, executors carry them, the store
looks rows up by them and the runner runs them. A workload that reaches a worker more than once
runs once: the worker claims its try first, and a :class:`Claim` says what came of that. This
module imports nothing of tradewind's, so any part may use it.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, order=True)
class TaskKey:
    """Which try of which task instance."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1
    try_number: int = 1

    def __str__(self) -> str:
        mapped = f"[{self.map_index}]" if self.map_index >= 0 else ""
        return f"{self.dag_id}.{self.task_id}{mapped} {self.run_id} try {self.try_number}"

    def to_json(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "map_index": self.map_index,
            "try_number": self.try_number,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> TaskKey:
        return cls(
            raw["dag_id"], raw["run_id"], raw["task_id"], raw["map_index"], raw["try_number"]
        )


# What a workload carries to another host (a broker message, a pod's annotation) holds its
# run only up to this size as JSON. A larger one (a big conf) stays in the metastore, where the
# try reads it: brokers and the Kubernetes API limit what they carry (SQS 256 KB a message,
# RabbitMQ 4 16 MB, Kubernetes 256 KB of annotations), and a message is sent again at resends.
REMOTE_RUN_LIMIT = 64 << 10


@dataclass(frozen=True)
class Workload:
    """One task try to run: everything an executor needs, nothing it must look up.

    ``run`` is the DAG run the try belongs to, as plain JSON (the fields of
    :class:`tradewind.runtime.context.DagRunView`, timestamps as ISO text): with it the try
    needs no metastore read to start. Without it the runner reads the run itself.
    """

    key: TaskKey
    dag_file: str
    priority_weight: int = 1
    queue: str = "default"
    execution_timeout: float | None = None
    executor_config: Mapping[str, Any] | None = field(default=None, compare=False)
    run: Mapping[str, Any] | None = field(default=None, compare=False)
    # Values upstream tasks pushed that the try reads (what a mapped task expands over), as
    # ``[[task_id, key, value], ...]``, handed over so that the try need not read them from the
    # metastore. Without them (too large, holding a secret) the try reads them itself.
    xcoms: Sequence[Sequence[Any]] | None = field(default=None, compare=False)
    # A deferred try resuming: the operator method to call instead of ``execute`` (Airflow's
    # ``next_method``; ``__fail__`` fails the try) and its kwargs (with the trigger's ``event``).
    next_method: str | None = field(default=None, compare=False)
    next_kwargs: Mapping[str, Any] | None = field(default=None, compare=False)
    # How many times this try deferred before this run of it (0: its first): each resumption
    # is a new process of the same try, which an executor may need to tell apart (a pod's name).
    resumptions: int = field(default=0, compare=False)

    def command(self) -> list[str]:
        """The command line that runs this try anywhere tradewind is installed."""
        key = self.key
        return [
            "tradewind",
            "tasks",
            "run",
            key.dag_id,
            key.task_id,
            key.run_id,
            "--try-number",
            str(key.try_number),
            "--map-index",
            str(key.map_index),
            "--dag-file",
            self.dag_file,
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key.to_json(),
            "dag_file": self.dag_file,
            "priority_weight": self.priority_weight,
            "queue": self.queue,
            "execution_timeout": self.execution_timeout,
            "executor_config": dict(self.executor_config) if self.executor_config else None,
            "run": dict(self.run) if self.run else None,
            **({"xcoms": [list(x) for x in self.xcoms]} if self.xcoms else {}),
            **({"next_method": self.next_method} if self.next_method else {}),
            **({"next_kwargs": dict(self.next_kwargs)} if self.next_kwargs is not None else {}),
            **({"resumptions": self.resumptions} if self.resumptions else {}),
        }

    def to_remote_json(self) -> dict[str, Any]:
        """:meth:`to_json` for another host: without the run or the handed XComs when they are
        larger than :data:`REMOTE_RUN_LIMIT` (the try then reads them from the metastore)."""
        data = self.to_json()
        run = data["run"]
        if run is not None and len(json.dumps(run, default=str)) > REMOTE_RUN_LIMIT:
            data["run"] = None
        if "xcoms" in data and len(json.dumps(data["xcoms"], default=str)) > REMOTE_RUN_LIMIT:
            del data["xcoms"]
        return data

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Workload:
        return cls(
            key=TaskKey.from_json(raw["key"]),
            dag_file=raw["dag_file"],
            priority_weight=raw.get("priority_weight", 1),
            queue=raw.get("queue", "default"),
            execution_timeout=raw.get("execution_timeout"),
            executor_config=raw.get("executor_config"),
            run=raw.get("run"),
            xcoms=raw.get("xcoms"),
            next_method=raw.get("next_method"),
            next_kwargs=raw.get("next_kwargs"),
            resumptions=int(raw.get("resumptions") or 0),
        )


class Claim(enum.Enum):
    """What came of a worker's claim of a try; the value says why a message is dropped."""

    CLAIMED = "claimed"
    TAKEN = "claimed already"
    NOT_WAITING = "its task instance no longer waits for this try"
    UNKNOWN = (
        "this metastore has no such task instance "
        "(a message of another installation sharing the broker, or of a deleted run)"
    )


@dataclass(frozen=True)
class TaskAlerts:
    """The alerts due for one try that failed outside its own process (killed, lost, stopped
    at its timeout): its retry alerts when ``retry``, else its failure alerts; ``error`` says
    why it failed. The scheduler files them (``tradewind.scheduler.callbacks``), a process of
    their own sends them (``tradewind.runtime.task_callbacks``)."""

    dag_file: str
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    retry: bool
    error: str

    # How much of the error travels (the alerts quote it).
    MAX_ERROR = 2000

    @property
    def key(self) -> TaskKey:
        return TaskKey(self.dag_id, self.run_id, self.task_id, self.map_index, self.try_number)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "error": self.error[: self.MAX_ERROR]}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> TaskAlerts:
        return cls(
            str(raw["dag_file"]),
            str(raw["dag_id"]),
            str(raw["run_id"]),
            str(raw["task_id"]),
            int(raw["map_index"]),
            int(raw["try_number"]),
            bool(raw["retry"]),
            str(raw.get("error") or ""),
        )

"""Claims of task tries: which worker took which try's message first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tradewind.metastore.models.base import ID_LENGTH, Base
from tradewind.metastore.types import UtcDateTime


class TaskTryClaim(Base):
    """One row per try a Celery worker started; a second delivery of its message finds it.

    ``reschedule_count`` is how many reschedules the try had when it was claimed: a sensor in
    reschedule mode keeps its try number from poke to poke, and each poke claims the try
    anew once the previous poke's reschedule is recorded. Deleting the run (or the DAG)
    deletes the rows.
    """

    __tablename__ = "task_try_claim"

    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    map_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    try_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    reschedule_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    worker: Mapped[str] = mapped_column(String(500), nullable=False)
    celery_task_id: Mapped[str] = mapped_column(String(255), nullable=False)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

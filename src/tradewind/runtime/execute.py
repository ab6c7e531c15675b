"""Running one task with its context: templates, ``execute()``, timeout, outcome, callbacks.

:func:`execute_task` turns whatever the task does (a return value, a signal from
:mod:`tradewind.exceptions`, any other exception, a timeout, SIGTERM) into an :class:`Outcome`;
:func:`run_callbacks` then calls the task's callbacks for that outcome.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from tradewind import limits, reports
from tradewind.authoring import templating
from tradewind.exceptions import (
    FailTask,
    RescheduleTask,
    SkipDownstream,
    SkipTask,
    TaskDeferralError,
    TaskDeferralTimeout,
    TaskDeferred,
    TaskError,
    TradewindError,
)
from tradewind.runtime import assets, deferral, mail, mapping, notifiers, rendered
from tradewind.runtime.context import current_context
from tradewind.runtime.masking import SecretsMasker
from tradewind.runtime.taskinstance import (
    RETURN_VALUE_KEY,
    TaskInstanceView,
    XComValueError,
    ensure_json,
)
from tradewind.states import TaskState

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 2000


class ExecutionTimeout(TradewindError):
    """The task ran past its execution_timeout."""


class TaskTerminated(TradewindError):
    """The try's process was asked to stop (SIGTERM)."""


@dataclass
class Outcome:
    """How a try ended: what its finished report (:class:`tradewind.reports.Finished`) says,
    and the exception its callbacks see."""

    state: TaskState
    error: str | None = None
    retryable: bool = True
    xcoms: list[tuple[str, Any]] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    reschedule_date: datetime | None = None
    exception: BaseException | None = None
    # The template fields as rendered (JSON, not yet masked); None if the task has none or
    # its templates did not render.
    rendered_fields: dict[str, Any] | None = None
    # A mapped instance's map_index_template as rendered (None: it has none).
    rendered_map_index: str | None = None
    # What a deferred try waits on (its state is then DEFERRED).
    deferral: reports.Deferral | None = None
    # The assets a successful try updated (its outlets, and what it added through aliases).
    asset_events: list[reports.AssetUpdate] = field(default_factory=list)

    @property
    def return_value(self) -> Any:
        return dict(self.xcoms).get(RETURN_VALUE_KEY)

    def report(self, masker: SecretsMasker | None = None) -> reports.Finished:
        """The finished report, with the error and secret XCom values masked."""
        error = self.error
        if error is not None and masker is not None:
            error = masker.mask(error)
        fields = None
        if self.rendered_fields is not None:
            fields = rendered.for_report(self.rendered_fields, masker or SecretsMasker())
        return reports.Finished(
            reports.now(),
            self.state,
            error or "",
            retryable=self.retryable,
            xcoms=tuple(_reported(key, value, masker) for key, value in self.xcoms),
            skip=tuple(self.skip),
            reschedule_date=self.reschedule_date,
            rendered_fields=fields,
            rendered_map_index=_masked(self.rendered_map_index, masker),
            deferral=self.deferral,
            asset_events=tuple(self.asset_events),
        )

    def message(self, masker: SecretsMasker | None = None) -> dict[str, Any]:
        """The finished report as it goes on the wire (see :mod:`tradewind.reports`)."""
        return reports.encode(self.report(masker))


def _masked(text: str | None, masker: SecretsMasker | None) -> str | None:
    return text if text is None or masker is None else masker.mask(text)


def _reported(key: str, value: Any, masker: SecretsMasker | None) -> reports.XCom:
    """An XCom as the finished report carries it; when the value holds a secret the try knows,
    with ``shown``, the value masked, which is what the UI and the API display (the next task
    still pulls ``value``)."""
    shown = value if masker is None else masker.mask_value(value)
    return reports.XCom(key, value, None if shown is value or shown == value else shown)


def failed(error: str, *, retryable: bool, exception: BaseException | None = None) -> Outcome:
    return Outcome(TaskState.FAILED, error=error, retryable=retryable, exception=exception)


def summary(exc: BaseException) -> str:
    """One line for an exception: our own errors by message, others with their type."""
    if isinstance(exc, TradewindError) and str(exc):
        text = str(exc)
    else:
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def _return_xcoms(task: BaseOperator, value: Any, max_mb: float | None) -> list[tuple[str, Any]]:
    if not task.do_xcom_push or value is None:
        return []
    items = [(RETURN_VALUE_KEY, value)]
    if task.multiple_outputs:
        if not isinstance(value, dict):
            raise TaskError(
                f"task {task.task_id!r} has multiple_outputs but returned a "
                f"{type(value).__name__}, not a dict"
            )
        for key, item in value.items():
            if not isinstance(key, str):
                raise TaskError(
                    f"task {task.task_id!r} has multiple_outputs: its keys must be strings, "
                    f"not {key!r}"
                )
            items.append((key, item))
    ensure_json(value, f"the return value of task {task.task_id!r}", max_mb)
    return items


@contextmanager
def _guard(timeout: float | None, elapsed: float) -> Iterator[None]:
    """Raise ExecutionTimeout when ``timeout`` runs out and TaskTerminated on SIGTERM.

    ``elapsed`` seconds of the timeout were used before (importing the DAG file...). Signals
    reach only the main thread; elsewhere the executor's own timeout applies.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise ExecutionTimeout(f"execution_timeout of {timeout:g} s exceeded")

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise TaskTerminated("the task was stopped (SIGTERM)")

    old_alarm = signal.signal(signal.SIGALRM, on_alarm)
    old_term = signal.signal(signal.SIGTERM, on_term)
    started = time.monotonic()
    old_timer = None
    if timeout is not None:
        old_timer = signal.setitimer(signal.ITIMER_REAL, max(timeout - elapsed, 0.001))
    try:
        yield
    finally:
        if old_timer is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_alarm)
        signal.signal(signal.SIGTERM, old_term)
        if old_timer is not None and old_timer[0] > 0:
            # Someone else's alarm (a test harness, an embedding process) keeps running.
            left = max(old_timer[0] - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, old_timer[1])


def execute_task(
    task: BaseOperator,
    context: Mapping[str, Any],
    ti: TaskInstanceView,
    timeout: float | None,
    *,
    elapsed: float = 0.0,
    next_method: str | None = None,
    next_kwargs: Mapping[str, Any] | None = None,
) -> Outcome:
    """Render the task's templates and run it, within ``timeout`` seconds if given.

    ``elapsed`` is how much of the timeout the try has used already. A try resuming after a
    deferral calls ``next_method`` with ``next_kwargs`` (serde JSON, the trigger's ``event``
    among them) instead of ``execute``.
    """
    progress = _Progress(
        max_xcom_mb=ti.max_xcom_mb,
        max_map_length=ti.max_map_length,
        next_method=next_method,
        next_kwargs=next_kwargs,
    )
    with current_context(context):
        outcome = _execute(task, context, timeout, elapsed, progress)
        if ti.map_index >= 0:
            outcome.rendered_map_index = mapping.render_map_index(progress.task or task, context)
    outcome.rendered_fields = progress.rendered_fields
    if outcome.state is TaskState.SUCCESS:
        outcome = _with_asset_events(outcome, context)
    # Values pushed by hand come first; the return value wins a clash on its key.
    outcome.xcoms = [*ti.pushed.items(), *outcome.xcoms]
    if outcome.state is TaskState.FAILED:
        log.error("Task failed: %s", outcome.error)
    log.info("Outcome: %s", outcome.state.value.upper())
    return outcome


@dataclass
class _Progress:
    """What a try got done before its outcome was known (and the XCom limit it has)."""

    rendered_fields: dict[str, Any] | None = None
    max_xcom_mb: float | None = None
    max_map_length: int | None = None
    # The operator that ran: a mapped task's instance, else the task itself.
    task: BaseOperator | None = None
    # Where a resumed try goes on (None: execute).
    next_method: str | None = None
    next_kwargs: Mapping[str, Any] | None = None


def _execute(
    task: BaseOperator,
    context: Mapping[str, Any],
    timeout: float | None,
    elapsed: float,
    progress: _Progress,
) -> Outcome:
    try:
        with _guard(timeout, elapsed):
            task = progress.task = mapping.instance_of(task, context)
            templating.render_template_fields(task, context)
            # Copied before execute() runs: what it does to the fields is not what rendered.
            progress.rendered_fields = rendered.snapshot(task)
            _call_all(task.on_execute_callback, context, "on_execute_callback")
            result = _run(task, context, progress)
    except TaskDeferred as exc:
        return _deferred(exc)
    except SkipDownstream as exc:
        log.info("Skipping downstream tasks: %s", ", ".join(sorted(exc.task_ids)))
        return _success(task, exc.xcom_value, sorted(exc.task_ids), progress)
    except SkipTask as exc:
        log.info("Skipping the task: %s", exc)
        return Outcome(TaskState.SKIPPED, exception=exc)
    except RescheduleTask as exc:
        log.info("Rescheduled: the next poke is at %s", exc.reschedule_date.isoformat())
        return Outcome(TaskState.UP_FOR_RESCHEDULE, reschedule_date=exc.reschedule_date)
    except FailTask as exc:
        log.error("The task failed without retries", exc_info=exc)
        return failed(summary(exc), retryable=False, exception=exc)
    except (TaskDeferralError, TaskDeferralTimeout) as exc:
        log.error("%s", exc)
        return failed(summary(exc), retryable=True, exception=exc)
    except (ExecutionTimeout, TaskTerminated) as exc:
        log.error("%s", exc)
        _kill(task)
        return failed(str(exc), retryable=True, exception=exc)
    except BaseException as exc:  # any failure of user code, SystemExit included
        log.error("The task raised an exception", exc_info=exc)
        return failed(summary(exc), retryable=True, exception=exc)
    return _success(task, result, [], progress)


def _run(task: BaseOperator, context: Mapping[str, Any], progress: _Progress) -> Any:
    """Call ``execute``, or the method a resumed try goes on in."""
    if progress.next_method is None:
        start = deferral.start_deferral(task)
        if start is not None:
            raise start
        log.info("Running %r", task)
        return task.execute(context)
    log.info("Resuming %r in %s()", task, progress.next_method)
    kwargs = deferral.resume_kwargs(progress.next_kwargs)
    return task.resume_execution(progress.next_method, kwargs, context)


def _deferred(exc: TaskDeferred) -> Outcome:
    try:
        found = deferral.deferral_of(exc)
    except TaskDeferralError as error:
        log.error("The task cannot defer: %s", error)
        return failed(summary(error), retryable=True, exception=error)
    log.info(
        "Deferred: waiting for %s, then resuming in %s()%s",
        found.classpath,
        found.method,
        "" if found.timeout is None else f" (timeout {found.timeout:g} s)",
    )
    return Outcome(TaskState.DEFERRED, deferral=found)


def _success(task: BaseOperator, value: Any, skip: list[str], progress: _Progress) -> Outcome:
    try:
        xcoms = _return_xcoms(task, value, progress.max_xcom_mb)
        mapping.check_pushed_for_mapping(task, dict(xcoms), progress.max_map_length)
    except (TaskError, XComValueError, limits.TooLarge) as exc:
        log.error("%s", exc)
        return failed(summary(exc), retryable=True, exception=exc)
    return Outcome(TaskState.SUCCESS, xcoms=xcoms, skip=skip)


def _with_asset_events(outcome: Outcome, context: Mapping[str, Any]) -> Outcome:
    """A successful outcome with the asset events of its outlets; failed if what the try
    attached to them is not plain JSON."""
    outlet_events = context.get("outlet_events")
    if not isinstance(outlet_events, assets.OutletEvents):
        return outcome
    updates = outlet_events.updates()
    try:
        for update in updates:
            ensure_json(dict(update.extra), f"the extra of the event of asset {update.uri!r}")
    except XComValueError as exc:
        log.error("%s", exc)
        return failed(summary(exc), retryable=True, exception=exc)
    for update in updates:
        via = f" through alias {update.alias!r}" if update.alias else ""
        log.info("Asset updated: %s%s", update.uri, via)
    outcome.asset_events = updates
    return outcome


def _kill(task: BaseOperator) -> None:
    try:
        task.on_kill()
    except Exception:
        log.exception("on_kill of task %r raised", task.task_id)


def _call_all(callbacks: list[Callable[..., Any]], context: Mapping[str, Any], name: str) -> None:
    if callbacks:  # messages link to the log: ``ti.log_url`` (and ``log_url``)
        context = notifiers.with_log_url(context)
    for callback in callbacks:
        try:
            callback(context)
        except Exception:
            # A callback reports on the outcome; it never changes it.
            log.exception("%s %r raised; the task's outcome stands", name, callback)


def run_callbacks(
    task: BaseOperator, context: Mapping[str, Any], outcome: Outcome, try_number: int
) -> None:
    """Call the callbacks for ``outcome``: success, skipped, retry (a retry remains) or failure;
    for a failed try, mail ``email`` first when ``email_on_retry``/``email_on_failure`` ask."""
    if outcome.state is TaskState.SUCCESS:
        _call_all(task.on_success_callback, context, "on_success_callback")
    elif outcome.state is TaskState.SKIPPED:
        _call_all(task.on_skipped_callback, context, "on_skipped_callback")
    elif outcome.state is TaskState.FAILED:
        retry = outcome.retryable and try_number <= task.retries
        failure_callbacks(task, context, outcome.exception or outcome.error, retry=retry)


def failure_callbacks(
    task: BaseOperator, context: Mapping[str, Any], exception: object, *, retry: bool
) -> None:
    """The alerts of a failed try: its mail (``email_on_retry``/``email_on_failure``), then
    ``on_retry_callback`` when a retry remains, else ``on_failure_callback``; the context's
    ``exception`` is ``exception`` (the error itself, or the text of why the try failed)."""
    context = {**context, "exception": exception}
    mail.failed_try_alerts(task, context, retry=retry)
    if retry:
        _call_all(task.on_retry_callback, context, "on_retry_callback")
    else:
        _call_all(task.on_failure_callback, context, "on_failure_callback")

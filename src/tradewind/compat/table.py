"""Which ``airflow`` module serves which names, and which tradewind name each one is.

:data:`MODULES` maps an Airflow module path (Airflow 2 and Airflow 3 spellings) to the names it
exports, each given as ``"tradewind.module:attr"``. Targets are text, resolved on first use, so
this table imports nothing. Every module whose path is a prefix of another is a package.

:data:`NOT_YET` names Airflow features tradewind will provide later (none at present):
importing one fails with an error that says so (rather than "not part of tradewind").
"""

from __future__ import annotations

from collections.abc import Mapping

from tradewind.compat import alerts

_AUTHORING = {
    "DAG": "tradewind.authoring.dag:DAG",
    "dag": "tradewind.authoring.dag_decorator:dag",
    "task": "tradewind.operators.taskflow:task",
    "task_group": "tradewind.authoring.task_group:task_group",
    "TaskGroup": "tradewind.authoring.task_group:TaskGroup",
    "Param": "tradewind.authoring.params:Param",
    "BaseOperator": "tradewind.authoring.baseoperator:BaseOperator",
    "XComArg": "tradewind.authoring.xcom_arg:XComArg",
    "chain": "tradewind.authoring.dependencies:chain",
    "chain_linear": "tradewind.authoring.dependencies:chain_linear",
    "cross_downstream": "tradewind.authoring.dependencies:cross_downstream",
    "TriggerRule": "tradewind.authoring.rules:TriggerRule",
    "WeightRule": "tradewind.authoring.rules:WeightRule",
    "Variable": "tradewind.runtime.variables:Variable",
    "Connection": "tradewind.runtime.connections:Connection",
    "BaseHook": "tradewind.runtime.connections:BaseHook",
    "BaseSensorOperator": "tradewind.sensors.base:BaseSensorOperator",
    "PokeReturnValue": "tradewind.sensors.base:PokeReturnValue",
}

_EXCEPTIONS = {
    "AirflowException": "tradewind.exceptions:AirflowException",
    "AirflowSkipException": "tradewind.exceptions:SkipTask",
    "AirflowFailException": "tradewind.exceptions:FailTask",
    "AirflowSensorTimeout": "tradewind.exceptions:SensorTimeout",
    "AirflowRescheduleException": "tradewind.exceptions:RescheduleTask",
    "AirflowNotFoundException": "tradewind.exceptions:NotFound",
    "AirflowConfigException": "tradewind.exceptions:ConfigNotFound",
    "AirflowTaskTimeout": "tradewind.runtime.execute:ExecutionTimeout",
    "AirflowTaskTerminated": "tradewind.runtime.execute:TaskTerminated",
    "ParamValidationError": "tradewind.exceptions:ParamValidationError",
    "TaskNotFound": "tradewind.exceptions:TaskNotFound",
    "DuplicateTaskIdFound": "tradewind.exceptions:DagDefinitionError",
    "RemovedInAirflow3Warning": "tradewind.runtime.context:ContextDeprecationWarning",
    "AirflowDagCycleException": "tradewind.exceptions:DagDefinitionError",
    "TaskDeferred": "tradewind.exceptions:TaskDeferred",
    "TaskDeferralError": "tradewind.exceptions:TaskDeferralError",
    "TaskDeferralTimeout": "tradewind.exceptions:TaskDeferralTimeout",
}

_TIMEZONE = {
    name: f"tradewind.timetables.timezone:{name}"
    for name in (
        "utc",
        "datetime",
        "utcnow",
        "parse",
        "make_aware",
        "make_naive",
        "convert_to_utc",
        "is_localized",
        "is_naive",
        "coerce_datetime",
    )
}

_MACROS = {
    name: f"tradewind.runtime.macros:{name}"
    for name in (
        "ds_add",
        "ds_format",
        "ds_format_locale",
        "datetime_diff_for_humans",
        "datetime",
        "timedelta",
        "dateutil",
        "json",
        "time",
        "uuid",
        "random",
    )
}

_EMPTY = {"EmptyOperator": "tradewind.operators.empty:EmptyOperator"}
_BASH = {"BashOperator": "tradewind.operators.bash:BashOperator"}
_PYTHON = {
    **{
        name: f"tradewind.operators.python:{name}"
        for name in ("PythonOperator", "BranchPythonOperator", "ShortCircuitOperator")
    },
    **{
        name: f"tradewind.operators.python_virtualenv:{name}"
        for name in (
            "PythonVirtualenvOperator",
            "ExternalPythonOperator",
            "BranchPythonVirtualenvOperator",
            "BranchExternalPythonOperator",
        )
    },
    "get_current_context": "tradewind.runtime.context:get_current_context",
    "is_venv_installed": "tradewind.operators.venvs:is_venv_installed",
}
_SENSOR_BASE = {
    "BaseSensorOperator": "tradewind.sensors.base:BaseSensorOperator",
    "PokeReturnValue": "tradewind.sensors.base:PokeReturnValue",
}
_PYTHON_SENSOR = {"PythonSensor": "tradewind.sensors.python:PythonSensor"}
_FILE_SENSOR = {"FileSensor": "tradewind.sensors.filesystem:FileSensor"}
_TIME_DELTA_SENSOR = {
    name: f"tradewind.sensors.time_delta:{name}"
    for name in ("TimeDeltaSensor", "TimeDeltaSensorAsync")
}
_TIME_SENSOR = {
    name: f"tradewind.sensors.time_of_day:{name}" for name in ("TimeSensor", "TimeSensorAsync")
}
_WEEKDAY = {"WeekDay": "tradewind.timetables.weekday:WeekDay"}
_SETUP_TEARDOWN = {
    name: f"tradewind.operators.setup_teardown:{name}" for name in ("setup", "teardown")
}
_LABEL = {"Label": "tradewind.authoring.edges:Label"}
_CONTEXT = {"Context": "tradewind.runtime.context:Context"}
_PARAMS = {
    "Param": "tradewind.authoring.params:Param",
    "ParamsDict": "tradewind.authoring.params:ParamsDict",
}
_STATES = {
    "State": "tradewind.states:TaskState",
    "TaskInstanceState": "tradewind.states:TaskState",
    "DagRunState": "tradewind.states:DagRunState",
}
_DAG_RUN = {"DagRun": "tradewind.runtime.context:DagRunView"}
_TASK_INSTANCE = {"TaskInstance": "tradewind.runtime.taskinstance:TaskInstanceView"}
_PARSING_CONTEXT = {"get_parsing_context": "tradewind.parsing.context:get_parsing_context"}
_TIMETABLES = {
    "CronDataIntervalTimetable": "tradewind.timetables.cron:CronTimetable",
    "DeltaDataIntervalTimetable": "tradewind.timetables.interval:DeltaTimetable",
    "CronTriggerTimetable": "tradewind.timetables.trigger:CronTriggerTimetable",
}
_TIMETABLE_BASE = {
    name: f"tradewind.timetables.base:{name}"
    for name in ("Timetable", "DagRunInfo", "DataInterval", "TimeRestriction")
}
_SMOOTH = {"SmoothOperator": "tradewind.operators.smooth:SmoothOperator"}
_TRIGGER_BASE = {
    name: f"tradewind.triggers.base:{name}"
    for name in (
        "BaseTrigger",
        "TriggerEvent",
        "TaskSuccessEvent",
        "TaskFailedEvent",
        "TaskSkippedEvent",
        "StartTriggerArgs",
        "BaseEventTrigger",
    )
}
# What Airflow 2 keeps under airflow.<path> and Airflow 3 under airflow.providers.standard.<path>.
_STANDARD: dict[str, dict[str, str]] = {
    "operators.branch": {"BaseBranchOperator": "tradewind.operators.branch:BaseBranchOperator"},
    "operators.latest_only": {
        "LatestOnlyOperator": "tradewind.operators.latest_only:LatestOnlyOperator"
    },
    "operators.weekday": {
        "BranchDayOfWeekOperator": "tradewind.operators.weekday:BranchDayOfWeekOperator"
    },
    "operators.datetime": {
        name: f"tradewind.operators.date_time:{name}"
        for name in ("BranchDateTimeOperator", "target_times_as_dates")
    },
    "operators.trigger_dagrun": {
        "TriggerDagRunOperator": "tradewind.operators.trigger_dagrun:TriggerDagRunOperator"
    },
    "sensors.weekday": {"DayOfWeekSensor": "tradewind.sensors.weekday:DayOfWeekSensor"},
    "sensors.date_time": {
        name: f"tradewind.sensors.date_time:{name}"
        for name in ("DateTimeSensor", "DateTimeSensorAsync")
    },
    "sensors.bash": {"BashSensor": "tradewind.sensors.bash:BashSensor"},
    "sensors.external_task": {
        name: f"tradewind.sensors.external_task:{name}"
        for name in ("ExternalTaskSensor", "ExternalTaskMarker")
    },
    "operators.smooth": _SMOOTH,
    "triggers": {},
    "triggers.temporal": {
        name: f"tradewind.triggers.temporal:{name}"
        for name in ("DateTimeTrigger", "TimeDeltaTrigger")
    },
    "triggers.file": {
        name: f"tradewind.triggers.file:{name}" for name in ("FileTrigger", "FileDeleteTrigger")
    },
    "triggers.external_task": {
        name: f"tradewind.triggers.external_task:{name}"
        for name in ("WorkflowTrigger", "DagStateTrigger")
    },
}
# Airflow 2's deprecated module names (Airflow 1.10's) that 2.x still imported -> today's name.
_AIRFLOW1_NAMES = {
    "operators.latest_only_operator": "operators.latest_only",
    "operators.dagrun_operator": "operators.trigger_dagrun",
    "operators.branch_operator": "operators.branch",
    "sensors.external_task_sensor": "sensors.external_task",
    "sensors.weekday_sensor": "sensors.weekday",
    "sensors.date_time_sensor": "sensors.date_time",
    "sensors.bash_sensor": "sensors.bash",
}
_VARIABLE = {"Variable": _AUTHORING["Variable"]}
_CONNECTION = {"Connection": _AUTHORING["Connection"]}
_HOOK = {"BaseHook": _AUTHORING["BaseHook"]}

_XCOM_ARG = {
    "XComArg": _AUTHORING["XComArg"],
    "PlainXComArg": _AUTHORING["XComArg"],
    **{
        name: f"tradewind.authoring.xcom_arg:{name}"
        for name in ("MapXComArg", "ZipXComArg", "ConcatXComArg")
    },
}
_MAPPED = {
    "MappedOperator": "tradewind.authoring.mapped:MappedOperator",
    "OperatorPartial": "tradewind.authoring.mapped:OperatorPartial",
}
_EXPAND_INPUT = {
    name: f"tradewind.authoring.expandinput:{name}"
    for name in ("DictOfListsExpandInput", "ListOfDictsExpandInput", "MappedArgument")
}

MODULES: dict[str, dict[str, str]] = {
    "airflow": {"DAG": _AUTHORING["DAG"]},
    # Airflow 2's authoring modules
    "airflow.models": {
        name: _AUTHORING[name]
        for name in ("DAG", "BaseOperator", "Param", "Variable", "Connection", "XComArg")
    }
    | {"ParamsDict": _PARAMS["ParamsDict"]}
    | _DAG_RUN
    | _TASK_INSTANCE,
    "airflow.models.dag": {name: _AUTHORING[name] for name in ("DAG", "dag")},
    "airflow.models.dagrun": _DAG_RUN,
    "airflow.models.taskinstance": _TASK_INSTANCE,
    "airflow.models.xcom": {"XCOM_RETURN_KEY": "tradewind.runtime.taskinstance:RETURN_VALUE_KEY"},
    "airflow.models.baseoperator": {
        name: _AUTHORING[name]
        for name in ("BaseOperator", "chain", "chain_linear", "cross_downstream")
    },
    "airflow.models.param": _PARAMS,
    "airflow.models.variable": _VARIABLE,
    "airflow.models.connection": _CONNECTION,
    "airflow.models.xcom_arg": _XCOM_ARG,
    "airflow.models.mappedoperator": _MAPPED,
    "airflow.models.expandinput": _EXPAND_INPUT,
    "airflow.utils.task_group": {
        "TaskGroup": _AUTHORING["TaskGroup"],
        "MappedTaskGroup": "tradewind.authoring.task_group:MappedTaskGroup",
    },
    "airflow.sdk.definitions.mappedoperator": _MAPPED,
    "airflow.sdk.definitions.xcom_arg": _XCOM_ARG,
    "airflow.decorators": {
        **{name: _AUTHORING[name] for name in ("dag", "task", "task_group")},
        **_SETUP_TEARDOWN,
    },
    # Airflow 3's authoring API
    "airflow.sdk": {
        name: _AUTHORING[name]
        for name in (
            "DAG",
            "dag",
            "task",
            "task_group",
            "TaskGroup",
            "Param",
            "BaseOperator",
            "BaseSensorOperator",
            "PokeReturnValue",
            "BaseHook",
            "Variable",
            "Connection",
            "XComArg",
            "chain",
            "chain_linear",
            "cross_downstream",
            "TriggerRule",
            "WeightRule",
        )
    }
    | _SETUP_TEARDOWN
    | _LABEL
    | _CONTEXT
    | _PARSING_CONTEXT
    | _TIMETABLES
    | {name: _STATES[name] for name in ("DagRunState", "TaskInstanceState")}
    | {
        "EdgeModifier": "tradewind.authoring.dependencies:EdgeModifier",
        "conf": "tradewind.runtime.config:conf",
        "get_current_context": _PYTHON["get_current_context"],
    },
    "airflow.sdk.macros": _MACROS,
    "airflow.sdk.definitions": {},
    "airflow.sdk.definitions.dag": {name: _AUTHORING[name] for name in ("DAG", "dag")},
    "airflow.sdk.definitions.taskgroup": {
        name: _AUTHORING[name] for name in ("TaskGroup", "task_group")
    },
    "airflow.sdk.definitions.edges": _LABEL
    | {"EdgeModifier": "tradewind.authoring.dependencies:EdgeModifier"},
    "airflow.sdk.definitions.context": _CONTEXT,
    "airflow.sdk.definitions.param": _PARAMS,
    "airflow.sdk.bases": {},
    "airflow.sdk.bases.operator": {
        name: _AUTHORING[name]
        for name in ("BaseOperator", "chain", "chain_linear", "cross_downstream")
    },
    "airflow.sdk.bases.sensor": _SENSOR_BASE,
    "airflow.sdk.bases.hook": _HOOK,
    "airflow.sdk.timezone": _TIMEZONE,
    # Airflow 2's operators and sensors (with the older module names that 2.x still took)
    "airflow.operators": {},
    "airflow.operators.empty": _EMPTY,
    "airflow.operators.dummy": {"DummyOperator": _EMPTY["EmptyOperator"], **_EMPTY},
    "airflow.operators.dummy_operator": {"DummyOperator": _EMPTY["EmptyOperator"]},
    "airflow.operators.bash": _BASH,
    "airflow.operators.bash_operator": _BASH,
    "airflow.operators.python_operator": _PYTHON,
    # Airflow 2 kept the TaskFlow decorator here too.
    "airflow.operators.python": _PYTHON | {"task": _AUTHORING["task"]},
    "airflow.sensors": {},
    "airflow.sensors.base": _SENSOR_BASE,
    "airflow.sensors.base_sensor_operator": _SENSOR_BASE,
    "airflow.sensors.python": _PYTHON_SENSOR,
    "airflow.sensors.filesystem": _FILE_SENSOR,
    "airflow.sensors.time_delta": _TIME_DELTA_SENSOR,
    "airflow.sensors.time_sensor": _TIME_SENSOR,
    "airflow.sensors.time_delta_sensor": _TIME_DELTA_SENSOR,
    "airflow.sensors.python_sensor": _PYTHON_SENSOR,
    # Airflow 3's standard provider
    "airflow.providers": {},
    "airflow.providers.standard": {},
    "airflow.providers.standard.operators": {},
    "airflow.providers.standard.operators.empty": _EMPTY,
    "airflow.providers.standard.operators.bash": _BASH,
    "airflow.providers.standard.operators.python": _PYTHON,
    "airflow.providers.standard.sensors": {},
    "airflow.providers.standard.sensors.python": _PYTHON_SENSOR,
    "airflow.providers.standard.sensors.filesystem": _FILE_SENSOR,
    "airflow.providers.standard.sensors.time_delta": _TIME_DELTA_SENSOR,
    "airflow.providers.standard.sensors.time": _TIME_SENSOR,
    "airflow.providers.standard.utils": {},
    "airflow.providers.standard.utils.weekday": _WEEKDAY,
    "airflow.providers.standard.utils.python_virtualenv": {
        "is_venv_installed": _PYTHON["is_venv_installed"]
    },
    # Helpers DAG files use
    "airflow.utils": {},
    "airflow.utils.dates": {"days_ago": "tradewind.timetables.timezone:days_ago"},
    "airflow.utils.timezone": _TIMEZONE,
    "airflow.utils.trigger_rule": {"TriggerRule": _AUTHORING["TriggerRule"]},
    "airflow.utils.weight_rule": {"WeightRule": _AUTHORING["WeightRule"]},
    "airflow.utils.helpers": {
        name: _AUTHORING[name] for name in ("chain", "chain_linear", "cross_downstream")
    },
    "airflow.utils.state": _STATES,
    "airflow.utils.types": {"DagRunType": "tradewind.states:DagRunType"},
    "airflow.utils.log": {},
    "airflow.utils.log.logging_mixin": {"LoggingMixin": "tradewind.tasklogs:LoggingMixin"},
    "airflow.utils.decorators": {"apply_defaults": "tradewind.operators.legacy:apply_defaults"},
    "airflow.utils.dag_parsing_context": _PARSING_CONTEXT,
    "airflow.utils.weekday": _WEEKDAY,
    "airflow.utils.edgemodifier": _LABEL,
    "airflow.utils.context": _CONTEXT
    | {"AirflowContextDeprecationWarning": "tradewind.runtime.context:ContextDeprecationWarning"},
    "airflow.exceptions": _EXCEPTIONS,
    "airflow.macros": _MACROS,
    "airflow.hooks": {},
    "airflow.hooks.base": _HOOK,
    "airflow.hooks.base_hook": _HOOK,
    "airflow.configuration": {"conf": "tradewind.runtime.config:conf"},
    "airflow.triggers.base": _TRIGGER_BASE,
    "airflow.timetables": {},
    "airflow.timetables.base": _TIMETABLE_BASE,
    "airflow.timetables.interval": {
        name: _TIMETABLES[name]
        for name in ("CronDataIntervalTimetable", "DeltaDataIntervalTimetable")
    },
    "airflow.timetables.trigger": {"CronTriggerTimetable": _TIMETABLES["CronTriggerTimetable"]},
    "airflow.timetables.simple": {
        name: f"tradewind.timetables.simple:{name}" for name in ("NullTimetable", "OnceTimetable")
    },
}

for _path, _names in _STANDARD.items():
    MODULES[f"airflow.{_path}"] = _names
    MODULES[f"airflow.providers.standard.{_path}"] = _names
for _old, _path in _AIRFLOW1_NAMES.items():
    MODULES[f"airflow.{_old}"] = _STANDARD[_path]

_ASSET_NAMES = {
    name: f"tradewind.authoring.assets:{name}"
    for name in ("Asset", "AssetAlias", "AssetAll", "AssetAny", "AssetWatcher", "Metadata")
}
_DATASET_NAMES = {
    name: f"tradewind.authoring.assets:{name}"
    for name in ("Dataset", "DatasetAlias", "DatasetAll", "DatasetAny")
}
_ASSET_DECORATOR = {"asset": "tradewind.authoring.asset_decorator:asset"}
_METADATA_NAME = {"Metadata": _ASSET_NAMES["Metadata"]}
MODULES["airflow.datasets"] = _DATASET_NAMES
MODULES["airflow.datasets.metadata"] = _METADATA_NAME
MODULES["airflow.sdk.definitions.asset"] = dict(_ASSET_NAMES)
MODULES["airflow.sdk.definitions.asset.decorators"] = _ASSET_DECORATOR
MODULES["airflow.sdk.definitions.asset.metadata"] = _METADATA_NAME
MODULES["airflow"] = {**MODULES["airflow"], "Dataset": _DATASET_NAMES["Dataset"]}
MODULES["airflow.sdk"] = {**MODULES["airflow.sdk"], **_ASSET_NAMES, **_ASSET_DECORATOR}
MODULES["airflow.timetables.assets"] = {
    "AssetOrTimeSchedule": "tradewind.timetables.assets:AssetOrTimeSchedule"
}
MODULES["airflow.timetables.datasets"] = {
    "DatasetOrTimeSchedule": "tradewind.timetables.assets:DatasetOrTimeSchedule"
}

MODULES.update(alerts.MODULES)
MODULES["airflow.sdk"] = {**MODULES["airflow.sdk"], **alerts.SDK_NAMES}

# Module path, or "module path:name", -> the Airflow feature it belongs to.
NOT_YET: dict[str, str] = {}


_SUBDAG = (
    "Airflow 2's SubDagOperator (removed in Airflow 3): group the tasks in a TaskGroup "
    "(airflow.utils.task_group.TaskGroup, or @task_group) instead"
)
_EMAIL = "EmailOperator: send e-mail from a @task with airflow.utils.email.send_email"
_OBJECT_STORAGE = (
    "Airflow's object storage (ObjectStoragePath): use fsspec or pathlib in the task instead"
)
_METADATA = (
    "direct access to Airflow's metadata database: tradewind's metastore is its own "
    "(use tradewind's REST API or CLI)"
)
_XCOM = "the XCom table: a task reads XComs with ti.xcom_pull and writes them with ti.xcom_push"

# Module path, or "module path:name", -> what it is and what to use instead in tradewind.
NOT_PROVIDED: dict[str, str] = {
    "airflow.operators.subdag": _SUBDAG,
    "airflow.operators.subdag_operator": _SUBDAG,
    "airflow.operators.email": _EMAIL,
    "airflow.operators.email_operator": _EMAIL,
    "airflow.io": _OBJECT_STORAGE,
    "airflow.sdk:ObjectStoragePath": _OBJECT_STORAGE,
    "airflow.settings": _METADATA,
    "airflow.utils.session": _METADATA,
    "airflow.utils.db": _METADATA,
    "airflow.models.dagbag": _METADATA,
    "airflow.models:DagBag": _METADATA,
    "airflow.models:DagModel": _METADATA,
    "airflow.models:Pool": _METADATA,
    "airflow.models:XCom": _XCOM,
    "airflow.models.xcom:XCom": _XCOM,
    "airflow.sdk:XCom": _XCOM,
    "airflow.example_dags": (
        "the helper modules of Airflow's own example DAGs: put what the file needs beside it"
    ),
}


def is_package(path: str, modules: Mapping[str, object] = MODULES) -> bool:
    """Whether ``path`` has submodules in the table (it then gets a ``__path__``)."""
    prefix = path + "."
    return any(name.startswith(prefix) for name in modules)


def not_yet(path: str, name: str | None = None) -> str | None:
    """The feature a module (or a name in a module) belongs to, if tradewind provides it later."""
    return _lookup(NOT_YET, path, name)


def not_provided(path: str, name: str | None = None) -> str | None:
    """What a module (or a name in a module) that tradewind never provides is, and what to use."""
    return _lookup(NOT_PROVIDED, path, name)


def _lookup(found_in: Mapping[str, str], path: str, name: str | None) -> str | None:
    if name is not None:
        return found_in.get(f"{path}:{name}")
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        found = found_in.get(".".join(parts[:end]))
        if found is not None:
            return found
    return None

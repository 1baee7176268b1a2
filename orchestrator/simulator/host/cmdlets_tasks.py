"""Scheduled task cmdlets. Start-ScheduledTask runs the stored action as Windows would: a
`powershell.exe ... -EncodedCommand <base64 UTF-16LE>` action is decoded and run on this same simulated host.

These are CDXML functions (orchestrator.simulator.commands.CDXML_MODULES; their output is
CimInstance#MSFT_ScheduledTask, MicrosoftDocs/windows-powershell-docs docset/winserver2012-ps/scheduledtasks/
Get-ScheduledTask.md): their non-terminating errors follow the global $ErrorActionPreference or the call's
-ErrorAction, never a preference the script set in its own scope (PowerShell/PowerShell#4568).
A session whose user is not a local Administrator (`session_admin: false`: a member of Hyper-V Administrators
only, who can run the Hyper-V cmdlets) cannot register, unregister or start the MultiPoint tasks, which run as
SYSTEM at the highest level: the cmdlet writes "Access is denied." (HRESULT 0x80070005) as a non-terminating error.

Start-ScheduledTask stands for Task Scheduler firing the task (at its trigger or on demand) and applies the
task's power conditions (`_power_allows`): on a host on batteries (Host.on_batteries) a task whose settings keep
the default DisallowStartIfOnBatteries does not start, and one whose settings keep the default
StopIfGoingOnBatteries is stopped when the host goes onto batteries during its run (Host.battery_after_change).
It runs a task only as SYSTEM, the only principal the simulator models (`_require_system`).

-TaskPath is taken as given, never completed: "To specify a full TaskPath you need to include the leading and
trailing \\" (docset/winserver2012-ps/scheduledtasks/Register-ScheduledTask.md, and the same sentence on
docset/winserver2012r2-ps/scheduledtasks/Get-ScheduledTask.md, whose Example 2, on the 2012 page too, names a
folder as "\\UpdateTasks\\"). So Get-, Unregister-, Start-ScheduledTask and Get-ScheduledTaskInfo match it, as a
wildcard pattern, against the task's full path ('MultiPoint' finds nothing under \\MultiPoint\\), and
Register-ScheduledTask refuses a path without both backslashes. Whether a real host completes such a path is not
on any page: matching it as given and refusing it are never more lenient than the host.
"""

from __future__ import annotations

import base64
import binascii
import re
import shlex
from datetime import datetime, timedelta
from typing import Any

from orchestrator.simulator.binder import BoundCall
from orchestrator.simulator.host.acl import ADMINISTRATORS
from orchestrator.simulator.host.context import HostContext
from orchestrator.simulator.host.model import Host, Task
from orchestrator.simulator.host.registry import CmdletError, cmdlet
from orchestrator.simulator.language.values import PSEnum, PSObject, to_string, utc_iso

MODULE = "ScheduledTasks"
CIM = "Microsoft.Management.Infrastructure.CimInstance#Root/Microsoft/Windows/TaskScheduler/"
TASK_STATES = {"Unknown": 0, "Disabled": 1, "Queued": 2, "Ready": 3, "Running": 4}
DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
FILE_NOT_FOUND = 2147942402  # 0x80070002


def _require_admin(ctx: HostContext, target: str) -> None:
    """Changing a task that runs as SYSTEM needs an administrator; anyone else gets E_ACCESSDENIED."""
    if ADMINISTRATORS not in ctx.identity.groups:
        raise CmdletError("Access is denied.", "HRESULT 0x80070005", "PermissionDenied", target)


def _full_task_path(path: str | None) -> str:
    """Register-ScheduledTask's folder: the root without -TaskPath ("If you do not specify a path, the cmdlet uses
    the root folder", 2012 page), else the full path the page asks for, with its leading and trailing backslash."""
    if path is None or path == "":
        return "\\"
    if not (path.startswith("\\") and path.endswith("\\")):
        raise CmdletError(f"simulator: -TaskPath '{path}' is not a full task path. To specify a full TaskPath you "
                          "need to include the leading and trailing \\ (Register-ScheduledTask's page).",
                          "InvalidTaskPath", "InvalidArgument", path)
    return path


# Task Scheduler's settings where a task has none of its own. Each is the documented default ("The default is
# True."): MicrosoftDocs/win32 desktop-src/TaskSchd/tasksettings-disallowstartifonbatteries.md and
# tasksettings-stopifgoingonbatteries.md; StartWhenAvailable: "The default is False."
# (tasksettings-startwhenavailable.md). New-ScheduledTaskSettingsSet without a switch gives the same ("scheduled
# task settings that use the default settings", Example 1 of its 2012 page).
DEFAULT_SETTINGS: dict[str, Any] = {"DisallowStartIfOnBatteries": True, "StopIfGoingOnBatteries": True,
                                    "StartWhenAvailable": False, "ExecutionTimeLimit": None}
# The well-known names of SYSTEM: "NT AUTHORITY\\SYSTEM ... and the well-known security identifiers (SIDs)"
# (Register-ScheduledTask's 2012 page, -Password); S-1-5-18 is Local System (learn.microsoft.com/windows/win32/
# secauthz/well-known-sids, as host/acl.py cites). The bare 'SYSTEM' the template passes is taken as the same
# account; that every host resolves that name is not sourced.
_SYSTEM_NAMES = ("system", "nt authority\\system", "s-1-5-18")


def _local(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S")


@cmdlet("New-ScheduledTaskAction", MODULE)
def new_action(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    return [PSObject({"Id": call.get("Id"), "Execute": call.get("Execute"), "Arguments": call.get("Argument"),
                      "WorkingDirectory": call.get("WorkingDirectory")}, CIM + "MSFT_TaskExecAction")]


@cmdlet("New-ScheduledTaskTrigger", MODULE)
def new_trigger(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    kind = call.parameter_set
    props: dict[str, Any] = {"Enabled": True, "StartBoundary": _local(call.get("At")) if call.has("At") else None}
    if kind == "Daily":
        props["DaysInterval"] = int(call.get("DaysInterval") or 1)
    elif kind == "Weekly":
        mask = 0
        for day in call.get("DaysOfWeek") or []:
            name = to_string(day).capitalize()
            if name not in DAYS:
                raise CmdletError(f"Cannot convert value \"{name}\" to type \"System.DayOfWeek\".", "InvalidArgument",
                                  "InvalidArgument", terminating=True)
            mask |= 1 << DAYS.index(name)
        props["DaysOfWeek"] = mask
        props["WeeksInterval"] = int(call.get("WeeksInterval") or 1)
    cls = {"Once": "MSFT_TaskTimeTrigger", "Daily": "MSFT_TaskDailyTrigger", "Weekly": "MSFT_TaskWeeklyTrigger",
           "AtStartup": "MSFT_TaskBootTrigger", "AtLogon": "MSFT_TaskLogonTrigger"}[kind]
    return [PSObject(props, CIM + cls)]


@cmdlet("New-ScheduledTaskPrincipal", MODULE)
def new_principal(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    return [PSObject({"UserId": call.get("UserId"), "GroupId": call.get("GroupId"),
                      "LogonType": call.get("LogonType") or "Interactive", "RunLevel": call.get("RunLevel") or "Limited",
                      "Id": call.get("Id") or "Author"}, CIM + "MSFT_TaskPrincipal2")]


@cmdlet("New-ScheduledTaskSettingsSet", MODULE)
def new_settings(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    """The 2012 page's switches, as the MSFT_TaskSettings properties they turn from the default:
    -AllowStartIfOnBatteries ("Task Scheduler starts if the computer is running on battery power") and
    -DontStopIfGoingOnBatteries ("the task does not stop if the computer switches to battery power")."""
    limit = call.get("ExecutionTimeLimit")
    return [PSObject({**DEFAULT_SETTINGS,
                      "DisallowStartIfOnBatteries": not call.get("AllowStartIfOnBatteries"),
                      "StopIfGoingOnBatteries": not call.get("DontStopIfGoingOnBatteries"),
                      "StartWhenAvailable": bool(call.get("StartWhenAvailable")),
                      "ExecutionTimeLimit": to_string(limit) if limit is not None else None},
                     CIM + "MSFT_TaskSettings3")]


def _settings_to_dict(obj: Any) -> dict[str, Any]:
    if obj is None:
        return dict(DEFAULT_SETTINGS)
    if not isinstance(obj, PSObject) or "MSFT_TaskSettings" not in obj.type_name:
        raise CmdletError("The settings are not a scheduled task settings object.", "InvalidArgument",
                          "InvalidArgument", terminating=True)
    return {name: obj.get(name) if obj.has(name) else default for name, default in DEFAULT_SETTINGS.items()}


def task_settings(task: Task) -> dict[str, Any]:
    """The task's settings; Task Scheduler's defaults where the task has none recorded."""
    return {**DEFAULT_SETTINGS, **(task.settings or {})}


def _trigger_to_dict(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, PSObject):
        raise CmdletError("The trigger is not a scheduled task trigger object.", "InvalidArgument", "InvalidArgument",
                          terminating=True)
    kind = obj.type_name.rsplit("MSFT_Task", 1)[-1].replace("Trigger", "")
    data = {k: v for k, v in obj.props.items()}
    data["kind"] = kind
    return data


def _action_to_dict(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, PSObject) or not obj.has("Execute"):
        raise CmdletError("The action is not a scheduled task action object.", "InvalidArgument", "InvalidArgument",
                          terminating=True)
    return {"execute": obj.get("Execute"), "arguments": obj.get("Arguments"),
            "working_directory": obj.get("WorkingDirectory")}


def next_run(task: Task, now: datetime) -> datetime | None:
    best: datetime | None = None
    naive_now = now.replace(tzinfo=None)
    for trig in task.triggers:
        if not trig.get("StartBoundary"):
            continue
        start = datetime.fromisoformat(trig["StartBoundary"])
        kind = trig.get("kind")
        candidate: datetime | None = None
        if kind in ("Time", "Once"):
            candidate = start if start > naive_now else None
        elif kind == "Daily":
            step = timedelta(days=int(trig.get("DaysInterval") or 1))
            candidate = start
            while candidate <= naive_now:
                candidate += step
        elif kind == "Weekly":
            mask = int(trig.get("DaysOfWeek") or 0)
            candidate = start
            for _ in range(8 * 7):
                if candidate > naive_now and mask & (1 << ((candidate.weekday() + 1) % 7)):
                    break
                candidate += timedelta(days=1)
        if candidate is not None and (best is None or candidate < best):
            best = candidate
    return best


def task_object(ctx: HostContext, task: Task) -> PSObject:
    actions = [PSObject({"Execute": a["execute"], "Arguments": a["arguments"], "WorkingDirectory":
                         a.get("working_directory")}, CIM + "MSFT_TaskExecAction") for a in task.actions]
    triggers = [PSObject({k: v for k, v in t.items() if k != "kind"}, CIM + f"MSFT_Task{t.get('kind')}Trigger")
                for t in task.triggers]
    principal = PSObject(dict(task.principal or {"UserId": "SYSTEM", "LogonType": "ServiceAccount",
                                                 "RunLevel": "Highest"}), CIM + "MSFT_TaskPrincipal2")
    settings = PSObject(task_settings(task), CIM + "MSFT_TaskSettings3")
    return PSObject({
        "TaskName": task.name, "TaskPath": task.path, "State": PSEnum("Microsoft.PowerShell.Cmdletization."
                                                                      "GeneratedTypes.ScheduledTask.StateEnum",
                                                                      task.state, TASK_STATES.get(task.state, 0)),
        "Description": task.description, "Actions": actions, "Triggers": triggers, "Principal": principal,
        "Settings": settings, "Author": None, "Date": task.registered, "URI": task.path + task.name,
    }, CIM + "MSFT_ScheduledTask", ref=Host.task_key(task.path, task.name), text="MSFT_ScheduledTask (TaskName = "
       f'"{task.name}", TaskPath = "{task.path}")')


def _find_tasks(ctx: HostContext, names: Any, paths: Any, *, must_exist: bool) -> list[Task]:
    from orchestrator.simulator.language.values import like

    names = names if isinstance(names, list) else ([names] if names else [])
    paths = paths if isinstance(paths, list) else ([paths] if paths else [])
    out = []
    for task in sorted(ctx.host.tasks.values(), key=lambda t: (t.path.lower(), t.name.lower())):
        if names and not any(like(task.name, n) for n in names):
            continue
        if paths and not any(like(task.path, p) for p in paths):
            continue
        out.append(task)
    if not out and must_exist and (names or paths):
        prop, value = ("TaskName", names[0]) if names else ("TaskPath", paths[0])
        raise CmdletError(f"No MSFT_ScheduledTask objects found with property '{prop}' equal to '{value}'.  Verify "
                          "the value of the property and retry.", "CmdletizationQuery_NotFound_TaskName",
                          "ObjectNotFound", value)
    return out


def _task_from_call(ctx: HostContext, call: BoundCall) -> Task:
    if call.has("InputObject"):
        obj = call.get("InputObject")
        obj = obj[0] if isinstance(obj, list) else obj
        task = ctx.host.tasks.get(getattr(obj, "ref", None) or "")
        if task is None:
            raise CmdletError("The system cannot find the file specified.", "HRESULT 0x80070002", "ObjectNotFound")
        return task
    return _find_tasks(ctx, call.get("TaskName"), call.get("TaskPath"), must_exist=True)[0]


@cmdlet("Register-ScheduledTask", MODULE, mutating=True)
def register_task(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    if call.parameter_set == "Xml":
        raise CmdletError("The simulator does not support Register-ScheduledTask -Xml.", "NotSupported",
                          "NotImplemented", terminating=True)
    name = call.get("TaskName")
    path = _full_task_path(call.get("TaskPath"))
    _require_admin(ctx, name)
    key = Host.task_key(path, name)
    if key in ctx.host.tasks and not call.get("Force"):
        raise CmdletError("Cannot create a file when that file already exists.", "HRESULT 0x800700b7",
                          "ResourceExists", name)
    principal = call.get("Principal")
    principal_data = dict(principal.props) if isinstance(principal, PSObject) else None
    if principal_data is None and call.has("User"):
        principal_data = {"UserId": call.get("User"), "LogonType": "Password" if call.has("Password") else
                          "InteractiveOrPassword", "RunLevel": to_string(call.get("RunLevel") or "Limited")}
    task = Task(name=name, path=path, description=call.get("Description") or "",
                actions=[_action_to_dict(a) for a in _list(call.get("Action"))],
                triggers=[_trigger_to_dict(t) for t in _list(call.get("Trigger"))],
                principal=principal_data, settings=_settings_to_dict(call.get("Settings")),
                registered=_local(ctx.now()))
    ctx.host.tasks[key] = task
    ctx.mutated(f"Register-ScheduledTask {path}{name}")
    return [task_object(ctx, task)]


@cmdlet("Unregister-ScheduledTask", MODULE, mutating=True)
def unregister_task(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    tasks = [_task_from_call(ctx, call)] if call.has("InputObject") else _find_tasks(
        ctx, call.get("TaskName"), call.get("TaskPath"), must_exist=True)
    for task in tasks:
        _require_admin(ctx, task.name)
    for task in tasks:
        del ctx.host.tasks[Host.task_key(task.path, task.name)]
        ctx.mutated(f"Unregister-ScheduledTask {task.path}{task.name}")
    return [task_object(ctx, t) for t in tasks] if call.get("PassThru") else []


@cmdlet("Get-ScheduledTask", MODULE)
def get_task(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    return [task_object(ctx, t) for t in _find_tasks(ctx, call.get("TaskName"), call.get("TaskPath"),
                                                      must_exist=True)]


@cmdlet("Get-ScheduledTaskInfo", MODULE)
def get_task_info(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    task = _task_from_call(ctx, call)
    upcoming = next_run(task, ctx.now())
    return [PSObject({
        "LastRunTime": datetime.fromisoformat(task.last_run) if task.last_run else None,
        "LastTaskResult": task.last_result, "NextRunTime": upcoming, "NumberOfMissedRuns": 0,
        "TaskName": task.name, "TaskPath": task.path,
    }, CIM + "MSFT_TaskDynamicInfo")]


_ENCODED = re.compile(r"^-(?:e|ec|enc|enco|encod|encode|encoded|encodedc|encodedco|encodedcom|encodedcomm|"
                      r"encodedcomma|encodedcomman|encodedcommand)$", re.I)


def decode_action(action: dict[str, Any]) -> str | None:
    """The PowerShell script a task action runs, or None when the action is not powershell.exe with a script."""
    exe = (action.get("execute") or "").strip().strip('"').replace("/", "\\").rsplit("\\", 1)[-1].lower()
    if exe not in ("powershell.exe", "powershell"):
        return None
    try:
        args = shlex.split(action.get("arguments") or "", posix=False)
    except ValueError:
        return None
    for i, arg in enumerate(args):
        if _ENCODED.match(arg) and i + 1 < len(args):
            try:
                return base64.b64decode(args[i + 1].strip('"'), validate=True).decode("utf-16-le")
            except (binascii.Error, UnicodeDecodeError):
                return None
        if arg.lower() in ("-command", "-c") and i + 1 < len(args):
            return " ".join(a.strip('"') for a in args[i + 1:])
    return None


def _require_system(task: Task) -> None:
    """The simulator runs a task's action as SYSTEM (Simulator._nested), so it starts only a task registered to run
    as SYSTEM. Another account's task would run as that account ("the user ID that Task Scheduler uses to run the
    tasks that are associated with the principal", New-ScheduledTaskPrincipal's 2012 page, -UserId), which the
    simulator does not model: refused rather than run with SYSTEM's rights. A task registered with neither
    -Principal nor -User keeps running as SYSTEM here (no page says whose it is)."""
    if task.principal is None:
        return
    user = to_string(task.principal.get("UserId") or "")
    if user.lower() not in _SYSTEM_NAMES:
        who = user or f"group {to_string(task.principal.get('GroupId') or '')}"
        raise CmdletError(f"simulator: only tasks that run as SYSTEM can run here; {task.path}{task.name} runs as "
                          f"{who}.", "NotSupported", "NotImplemented", task.name)


def _power_allows(ctx: HostContext, task: Task) -> bool:
    """Whether Task Scheduler starts the task on the host's power now: not on batteries when its settings keep
    DisallowStartIfOnBatteries ("If True, the task will not be started if the computer is running on batteries",
    MicrosoftDocs/win32 desktop-src/TaskSchd/tasksettings-disallowstartifonbatteries.md). The simulator applies it to
    Start-ScheduledTask as well, which here stands for the trigger; that an on-demand run on a real host is held
    to it too is not sourced (docs/real-hosts.md), and not starting it is the stricter answer."""
    return not (ctx.host.on_batteries and task_settings(task)["DisallowStartIfOnBatteries"])


@cmdlet("Start-ScheduledTask", MODULE, mutating=True)
def start_task(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    task = _task_from_call(ctx, call)
    _require_admin(ctx, task.name)
    _require_system(task)
    if not _power_allows(ctx, task):
        return []  # not launched: no run, so neither its last run nor its result changes
    host = ctx.host
    power_cut, host.battery_after_change = host.battery_after_change, None
    if power_cut is not None and task_settings(task)["StopIfGoingOnBatteries"]:
        # "If True, the property indicates that the task will be stopped if the computer is going onto batteries"
        # (tasksettings-stopifgoingonbatteries.md; Task Scheduler's event 327 STOPPING_ON_BATTERIES, "Task Scheduler
        # stopped the ... instance of task ... because the computer is switching to battery power",
        # technet.microsoft.com/en-us/library/dd348611.aspx): its process ends there as a killed one does
        # (HostContext.mutated), its finally blocks unrun. The result it leaves is the killed process's exit code;
        # what Task Scheduler records for such a stop is not sourced.
        host.kill_after_changes, host.kill_after_change = None, power_cut
    result = 0
    outputs = []
    try:
        for action in task.actions:
            script = decode_action(action)
            if script is None:
                result = FILE_NOT_FOUND
                break
            if ctx.run_script is None:
                raise CmdletError("This simulator cannot run task actions.", "NotSupported", "NotImplemented")
            task.state = "Running"
            run = ctx.run_script(script)
            task.state = "Ready"
            outputs.append(run.stdout + run.stderr)
            result = run.exit_code
            if result != 0:
                break
    finally:
        if power_cut is not None:  # the cut came during the run (or at its end, if it changed less)
            host.on_batteries = True
            host.kill_after_changes = host.kill_after_change = None
    task.last_run = utc_iso(ctx.now())
    task.last_result = result
    task.last_output = "".join(outputs)[-4000:]
    ctx.mutated(f"Start-ScheduledTask {task.path}{task.name}")
    return []


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]

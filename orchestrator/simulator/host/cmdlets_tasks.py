"""Scheduled task cmdlets. Start-ScheduledTask runs the stored action as Windows would: a
`powershell.exe ... -EncodedCommand <base64 UTF-16LE>` action is decoded and run on this same simulated host.

These are CDXML functions (orchestrator.simulator.commands.CDXML_MODULES; their output is
CimInstance#MSFT_ScheduledTask, MicrosoftDocs/windows-powershell-docs docset/winserver2012-ps/scheduledtasks/
Get-ScheduledTask.md): their non-terminating errors follow the global $ErrorActionPreference or the call's
-ErrorAction, never a preference the script set in its own scope (PowerShell/PowerShell#4568).
A session whose user is not a local Administrator (`session_admin: false`: a member of Hyper-V Administrators
only, who can run the Hyper-V cmdlets) cannot register, unregister or start the MultiPoint tasks, which run as
SYSTEM at the highest level: the cmdlet writes "Access is denied." (HRESULT 0x80070005) as a non-terminating error.
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


def _norm_task_path(path: str | None) -> str:
    p = path or "\\"
    if not p.startswith("\\"):
        p = "\\" + p
    if not p.endswith("\\"):
        p += "\\"
    return p


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
    return [PSObject({"StartWhenAvailable": bool(call.get("StartWhenAvailable")),
                      "ExecutionTimeLimit": to_string(call.get("ExecutionTimeLimit"))}, CIM + "MSFT_TaskSettings3")]


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
    return PSObject({
        "TaskName": task.name, "TaskPath": task.path, "State": PSEnum("Microsoft.PowerShell.Cmdletization."
                                                                      "GeneratedTypes.ScheduledTask.StateEnum",
                                                                      task.state, TASK_STATES.get(task.state, 0)),
        "Description": task.description, "Actions": actions, "Triggers": triggers, "Principal": principal,
        "Author": None, "Date": task.registered, "URI": task.path + task.name,
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
        if paths and not any(like(task.path, _norm_task_path(p) if "*" not in p else p) for p in paths):
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
    path = _norm_task_path(call.get("TaskPath"))
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
                principal=principal_data, registered=_local(ctx.now()))
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


@cmdlet("Start-ScheduledTask", MODULE, mutating=True)
def start_task(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    task = _task_from_call(ctx, call)
    _require_admin(ctx, task.name)
    result = 0
    outputs = []
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
    task.last_run = utc_iso(ctx.now())
    task.last_result = result
    task.last_output = "".join(outputs)[-4000:]
    ctx.mutated(f"Start-ScheduledTask {task.path}{task.name}")
    return []


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]

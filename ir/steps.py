"""Steps: one tree, because both sides nest control flow.

A :class:`TaskStep` does work through its ``action``; control steps hold child steps. Every
step shares the options of :class:`StepBase`. ``extras`` keeps what the reader did not model,
verbatim, so that a flow written back to its own side loses nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from typing import Literal as _L

from .base import Node, Tagged, field
from .expressions import Expr
from .policies import CachePolicy, RetryPolicy

# --- actions of a TaskStep ------------------------------------------------------------------


class PythonFunction(Node):
    """A Prefect task: the function's source and the arguments of this call."""

    kind: _L["python_function"] = "python_function"
    function: str
    source: str
    arguments: dict[str, Expr] = field(default_factory=dict)
    dependencies: tuple[str, ...] = ()


class _ProcessOptions(Node):
    """What a script or a command list runs with: language, environment, dependencies,
    commands run first, a container image and the files passed in and out."""

    language: str
    env: Expr | None = None
    dependencies: Expr | None = None
    before_commands: Expr | None = None
    container_image: Expr | None = None
    input_files: Expr | None = None
    output_files: Expr | None = None


class Script(_ProcessOptions):
    """A script in some language (python, shell, node, r, julia, ruby, powershell, …).
    ``source`` is a template: Kestra renders expressions in it before running."""

    kind: _L["script"] = "script"
    source: Expr


class Commands(_ProcessOptions):
    """A list of commands run by a language's interpreter or a shell."""

    kind: _L["commands"] = "commands"
    commands: Expr


class Log(Node):
    """Write a message (or a list of messages) to the run's log."""

    kind: _L["log"] = "log"
    message: Expr
    level: str | None = None


class Return(Node):
    """Produce one value (Kestra ``debug.Return``'s ``format``)."""

    kind: _L["return"] = "return"
    value: Expr | None = None


class Outputs(Node):
    """Produce named values (Kestra ``OutputValues``)."""

    kind: _L["outputs"] = "outputs"
    values: Expr | None = None


class Sleep(Node):
    """Wait for a duration."""

    kind: _L["sleep"] = "sleep"
    duration: timedelta


class Fail(Node):
    """Fail the run, optionally only when ``condition`` holds."""

    kind: _L["fail"] = "fail"
    message: Expr | None = None
    condition: Expr | None = None


class HttpRequest(Node):
    """An HTTP request; its response (code, body, headers) is the step's output."""

    kind: _L["http_request"] = "http_request"
    uri: Expr
    method: Expr | None = None
    headers: Expr | None = None
    body: Expr | None = None
    content_type: Expr | None = None


class Download(Node):
    """Download a URI to a file; the file is the step's output."""

    kind: _L["download"] = "download"
    uri: Expr
    method: Expr | None = None
    headers: Expr | None = None


class KVSet(Node):
    """Store a value under a key."""

    kind: _L["kv_set"] = "kv_set"
    key: Expr
    value: Expr
    namespace: Expr | None = None


class KVGet(Node):
    """Read the value under a key."""

    kind: _L["kv_get"] = "kv_get"
    key: Expr
    namespace: Expr | None = None


class PluginCall(Node):
    """Any task the IR does not model: its type and every property, verbatim."""

    kind: _L["plugin_call"] = "plugin_call"
    type: str
    properties: dict[str, Any] = field(default_factory=dict)


Action = Annotated[
    PythonFunction
    | Script
    | Commands
    | Log
    | Return
    | Outputs
    | Sleep
    | Fail
    | HttpRequest
    | Download
    | KVSet
    | KVGet
    | PluginCall,
    Tagged("kind"),
]


# --- steps ----------------------------------------------------------------------------------


class StepBase(Node):
    """Options every step has. ``depends_on`` lists explicit edges beyond data flow."""

    id: str
    description: str | None = None
    retry: RetryPolicy | None = None
    timeout: timedelta | None = None
    allow_failure: bool = False
    disabled: bool = False
    run_if: Expr | None = None
    cache: CachePolicy | None = None
    tags: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)


class TaskStep(StepBase):
    """A step that does one piece of work."""

    kind: _L["task"] = "task"
    action: Action


class ControlStep(StepBase):
    """A step that runs other steps; it may have its own error and finally handlers."""

    on_failure: tuple[Step, ...] = ()
    finally_steps: tuple[Step, ...] = ()


class Sequence(ControlStep):
    """Children one after the other."""

    kind: _L["sequence"] = "sequence"
    steps: tuple[Step, ...] = ()


class Parallel(ControlStep):
    """Children at the same time, at most ``concurrency`` at once (None or 0: unlimited)."""

    kind: _L["parallel"] = "parallel"
    steps: tuple[Step, ...] = ()
    concurrency: int | None = None


class Branch(ControlStep):
    """If/else."""

    kind: _L["branch"] = "branch"
    condition: Expr
    then: tuple[Step, ...] = ()
    otherwise: tuple[Step, ...] = ()


class Case(Node):
    """One case of a :class:`Switch` (the key as written: usually a string)."""

    value: str | int | float | bool
    steps: tuple[Step, ...] = ()


class Switch(ControlStep):
    """Run the case matching ``value``, else ``default``."""

    kind: _L["switch"] = "switch"
    value: Expr
    cases: tuple[Case, ...] = ()
    default: tuple[Step, ...] = ()


class Loop(ControlStep):
    """Run ``steps`` for each item of ``items`` (Kestra ForEach, Prefect ``.map()``/``for``),
    at most ``concurrency`` iterations at once (1 sequential, 0 unlimited)."""

    kind: _L["loop"] = "loop"
    items: Expr
    steps: tuple[Step, ...] = ()
    concurrency: int | None = None


class LoopUntil(ControlStep):
    """Repeat ``steps`` until ``condition`` holds."""

    kind: _L["loop_until"] = "loop_until"
    condition: Expr
    steps: tuple[Step, ...] = ()
    check_frequency: Expr | None = None


class SubflowCall(StepBase):
    """Run another flow. With ``items`` set, the flow runs once per batch of the items of a
    file (Kestra ForEachItem), ``batch`` saying how they are cut."""

    kind: _L["subflow"] = "subflow"
    namespace: Expr
    flow_id: Expr
    inputs: Expr | None = None
    wait: bool | None = None
    transmit_failed: bool | None = None
    items: Expr | None = None
    batch: Expr | None = None


class Dag(ControlStep):
    """Children ordered only by their ``depends_on`` edges."""

    kind: _L["dag"] = "dag"
    steps: tuple[Step, ...] = ()
    concurrency: int | None = None


class WorkingDirectory(ControlStep):
    """Children sharing one working directory (files written by one are seen by the next)."""

    kind: _L["working_directory"] = "working_directory"
    steps: tuple[Step, ...] = ()
    input_files: Expr | None = None
    output_files: Expr | None = None


class Pause(ControlStep):
    """Wait for a duration, or for a person to resume the run."""

    kind: _L["pause"] = "pause"
    duration: timedelta | None = None
    steps: tuple[Step, ...] = ()


class AllowFailure(ControlStep):
    """Children whose failure does not fail the run."""

    kind: _L["allow_failure_block"] = "allow_failure_block"
    steps: tuple[Step, ...] = ()


Step = Annotated[
    TaskStep
    | Sequence
    | Parallel
    | Branch
    | Switch
    | Loop
    | LoopUntil
    | SubflowCall
    | Dag
    | WorkingDirectory
    | Pause
    | AllowFailure,
    Tagged("kind"),
]

STEP_TYPES = (
    TaskStep,
    Sequence,
    Parallel,
    Branch,
    Switch,
    Loop,
    LoopUntil,
    SubflowCall,
    Dag,
    WorkingDirectory,
    Pause,
    AllowFailure,
)
ACTION_TYPES = (
    PythonFunction,
    Script,
    Commands,
    Log,
    Return,
    Outputs,
    Sleep,
    Fail,
    HttpRequest,
    Download,
    KVSet,
    KVGet,
    PluginCall,
)


def child_blocks(step: Node) -> list[tuple[str, tuple[Step, ...]]]:
    """The named lists of child steps of ``step`` (``steps``, ``then``, ``case:<v>``, …)."""
    blocks: list[tuple[str, tuple[Step, ...]]] = []
    for name in ("steps", "then", "otherwise", "default", "on_failure", "finally_steps"):
        value = getattr(step, name, None)
        if value:
            blocks.append((name, value))
    for case in getattr(step, "cases", ()):
        blocks.append((f"case:{case.value}", case.steps))
    return blocks


def iter_steps(steps: tuple[Step, ...]):
    """Every step of a tree, parents before children, in source order."""
    for step in steps:
        yield step
        for _, block in child_blocks(step):
            yield from iter_steps(block)

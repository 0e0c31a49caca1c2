"""The one catalogue of diagnostic codes, grouped by origin.

Codes are stable: a code is never reused for another meaning (K119, never emitted, is
retired). Prefixes: ``F`` files and project, ``K1`` Kestra reader, ``K2`` Kestra writer,
``P1`` Prefect reader, ``P2`` Prefect writer, ``D`` deployments, ``X`` expressions, ``G`` the
step graph, ``L`` lint and check. Create a diagnostic with ``codes.K101.at(span, name="x")``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Record
from .severity import Fidelity, Severity

if TYPE_CHECKING:
    from .base import Span
    from .diagnostics import Diagnostic

CATALOGUE: dict[str, Code] = {}

# The groups of the catalogue, by code prefix (the sections below, in order).
GROUPS = {
    "F": "Files and project",
    "K1": "Kestra reader",
    "K2": "Kestra writer",
    "P1": "Prefect reader",
    "P2": "Prefect writer",
    "D": "Deployments and schedules",
    "T": "IR passes",
    "X": "Expressions",
    "G": "Step graph",
    "L": "Lint and check",
}


class Code(Record):
    """A diagnostic code: its default severity, a message template and an explanation."""

    code: str
    severity: Severity
    message: str
    explanation: str
    fidelity: Fidelity | None = None
    unreadable: bool = False  # the input could not be read at all: exit code 2, not 1

    def __post_init__(self) -> None:
        if self.code in CATALOGUE:
            raise ValueError(f"duplicate diagnostic code {self.code}")
        CATALOGUE[self.code] = self

    def at(
        self,
        span: Span | None,
        *,
        hint: str | None = None,
        severity: Severity | None = None,
        **fields: object,
    ) -> Diagnostic:
        """A diagnostic of this code at ``span``; ``fields`` fill the message template."""
        from .diagnostics import Diagnostic

        return Diagnostic(
            code=self.code,
            severity=severity or self.severity,
            message=self.message.format(**fields),
            span=span,
            hint=hint,
            fidelity=self.fidelity,
        )


E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

# --- F: files and project -------------------------------------------------------------------
F001 = Code(
    "F001",
    E,
    "cannot read {what}: {reason}",
    "The input could not be read at all: missing, unreadable, a symlink loop or a "
    "directory entry that is not a regular file.",
    unreadable=True,
)
F002 = Code(
    "F002",
    E,
    "file is not valid UTF-8 (byte 0x{byte:02x})",
    "Flow files must be UTF-8. Re-encode the file; a BOM is accepted.",
    unreadable=True,
)
F003 = Code(
    "F003",
    E,
    "refusing to overwrite existing {path}",
    "An output file already exists. Pass --force to replace it.",
)
F004 = Code(
    "F004",
    E,
    "cannot write {path}: {reason}",
    "The output could not be written; nothing partial was left behind.",
)
F005 = Code(
    "F005",
    E,
    "input too large: {reason}",
    "The input exceeds a safety limit (size, nesting depth or alias expansion) that "
    "protects the converter against hostile files.",
    unreadable=True,
)
F006 = Code(
    "F006",
    W,
    "no flow files found under {path}",
    "The directory holds no file with a supported suffix.",
)
F007 = Code(
    "F007",
    E,
    "unknown format {name!r}; known formats: {known}",
    "Choose one of the registered formats.",
    unreadable=True,
)

F008 = Code(
    "F008",
    E,
    "invalid configuration: {reason}",
    "The [tool.flowbridge] table of pyproject.toml, or a command-line option, has an unknown "
    "key or a value of the wrong type. Nothing is read until the configuration is fixed.",
    unreadable=True,
)

# --- K1: Kestra reader ----------------------------------------------------------------------
K100 = Code(
    "K100",
    E,
    "invalid YAML: {reason}",
    "The file is not well-formed YAML, so nothing in it can be read.",
    unreadable=True,
)
K101 = Code(
    "K101",
    E,
    "duplicate key {key!r}",
    "A mapping holds the same key twice; YAML forbids it and the value would be ambiguous.",
    unreadable=True,
)
K102 = Code(
    "K102",
    E,
    "a flow document must be a mapping, not {found}",
    "Each YAML document of a flow file is one flow: a mapping with id, namespace and tasks.",
)
K103 = Code(
    "K103",
    E,
    "missing required property {name!r}",
    "Kestra rejects a flow or task without this property.",
)
K104 = Code(
    "K104",
    E,
    "{what} {value!r} does not match {pattern}",
    "Kestra identifiers are restricted: flow ids and task ids to letters, digits, "
    "'_', '-' (and '.' for flows), namespaces to lower case.",
)
K105 = Code(
    "K105",
    E,
    "{what} must be {expected}, not {found}",
    "A property has the wrong type for the Kestra model.",
)
K106 = Code(
    "K106",
    E,
    "unknown property {name!r} for {type}",
    "Kestra rejects properties that a core task does not declare.",
    Fidelity.CARRIED,
)
K107 = Code(
    "K107",
    E,
    "unknown core type {type!r}",
    "The type is under io.kestra.plugin.core / io.kestra.core but is not one Kestra ships.",
)
K108 = Code(
    "K108",
    E,
    "duplicate {what} id {id!r}",
    "Ids must be unique within a flow (tasks, inputs, triggers).",
)
K109 = Code(
    "K109",
    E,
    "{what} must not be empty",
    "A flowable task needs at least one child task (or case).",
)
K110 = Code(
    "K110",
    E,
    "unknown input type {type!r}",
    "Input types are STRING, INT, FLOAT, BOOL, BOOLEAN, SELECT, MULTISELECT, ARRAY, "
    "JSON, YAML, FILE, URI, EMAIL, DATE, TIME, DATETIME, DURATION, SECRET, ENUM.",
)
K111 = Code(
    "K111",
    E,
    "invalid input: {reason}",
    "The input declaration is inconsistent (a bad validator, a forbidden item type, a "
    "default Kestra cannot accept).",
)
K112 = Code(
    "K112",
    E,
    "label {key!r} uses the reserved 'system.' prefix",
    "Labels starting with 'system.' are set by Kestra itself.",
)
K113 = Code(
    "K113",
    E,
    "subflow {flow!r} calls itself",
    "A Subflow task that runs its own flow recurses without end.",
)
K114 = Code(
    "K114",
    E,
    "{child!r} ({type}) cannot run inside WorkingDirectory",
    "WorkingDirectory only runs runnable tasks, not flowable ones.",
)
K115 = Code(
    "K115",
    E,
    "workerGroup is a Kestra Enterprise feature",
    "Kestra open source rejects flows that set workerGroup.",
)
K116 = Code(
    "K116",
    W,
    "{what} {value!r} is not a valid ISO-8601 duration; kept verbatim",
    "Durations are written like PT10M or P1DT2H. The value is carried unchanged.",
    Fidelity.CARRIED,
)
K117 = Code(
    "K117",
    INFO,
    "deprecated spelling {old!r} read as {new!r}",
    "The flow uses a spelling Kestra has deprecated; the writer emits the current one.",
)
K118 = Code(
    "K118",
    W,
    "{what} {value} has an unexpected shape; kept verbatim",
    "The value does not fit the model of this property, so it is carried unchanged.",
    Fidelity.CARRIED,
)
K121 = Code(
    "K121",
    INFO,
    "{what} is carried verbatim: {reason}",
    "A legitimate construct the IR does not model (an expression where a duration is "
    "expected, preconditions beyond a list of flows). It is written back unchanged; "
    "conversion to Prefect reports it again.",
    Fidelity.CARRIED,
)
K122 = Code(
    "K122",
    W,
    "no flow: the file is empty or holds only comments",
    "A Kestra flow file holds one flow per YAML document; this one holds none, so nothing is "
    "converted from it.",
)
K123 = Code(
    "K123",
    W,
    "YAML tag {tag} is not kept: the value is read as {kind}",
    "Kestra reads flows as plain JSON-like data and ignores tags such as !!binary, !!set or "
    "application tags; flowbridge reads the value the same way and writes it without the tag.",
    Fidelity.APPROX,
)

# --- K2: Kestra writer ----------------------------------------------------------------------
K201 = Code(
    "K201",
    W,
    "{what} cannot be written to Kestra: {reason}",
    "The IR holds a construct with no Kestra counterpart; it is carried as a comment "
    "or dropped with this warning.",
    Fidelity.NONE,
)

# --- P1: Prefect reader (Python → IR) --------------------------------------------------------
P100 = Code(
    "P100",
    E,
    "cannot parse Python: {reason}",
    "The file is not valid Python, so nothing in it can be read (exit code 2, as for "
    "malformed YAML). With --partial the rest of the repo still converts.",
    unreadable=True,
)
P101 = Code(
    "P101",
    W,
    "statement cannot be mapped; carried as a python script step",
    "The flow body holds code with no Kestra counterpart (a while loop, a try block, "
    "arbitrary computation). It runs as a python Script task holding the code.",
    Fidelity.CARRIED,
)
P102 = Code(
    "P102",
    W,
    "{option}={value} has no Kestra counterpart",
    "A decorator or call option is not converted; the behaviour it gave is lost.",
    Fidelity.NONE,
)
P103 = Code(
    "P103",
    W,
    "{option} approximated: {reason}",
    "The option converts to the closest Kestra setting; the difference is stated.",
    Fidelity.APPROX,
)
P104 = Code(
    "P104",
    W,
    "state hook {hook} is not converted",
    "Prefect state hooks (on_failure, on_completion, …) run Python callbacks; Kestra "
    "uses errors/finally tasks or flow triggers instead.",
    Fidelity.NONE,
)
P105 = Code(
    "P105",
    W,
    "cannot resolve {name!r}; the call is carried as a python script step",
    "The callee is neither a task nor a flow flowbridge found statically.",
    Fidelity.CARRIED,
)
P106 = Code(
    "P106",
    INFO,
    "parameter {name!r}: {reason}",
    "The parameter's Python type maps to the closest Kestra input type.",
    Fidelity.APPROX,
)
P107 = Code(
    "P107",
    INFO,
    "flow name {name!r} written as id {id!r}",
    "Kestra ids allow letters, digits, '_', '-' and '.'; other characters are replaced.",
)
P108 = Code(
    "P108",
    INFO,
    "no @flow found in this module",
    "The file defines no flow; its tasks are still available to other modules.",
)
P109 = Code(
    "P109",
    W,
    "Prefect 1 API ({what}) is not supported",
    "Prefect 1 flows (`with Flow(...)`) use a different, static API.",
    Fidelity.NONE,
)
P110 = Code(
    "P110",
    W,
    "{option}={value} is not {expected}; the option is not converted",
    "A decorator or with_options() option is a constant of a type Prefect does not declare for "
    "it (retries='3', timeout_seconds=[60]). Prefect rejects some such values when the module "
    "is imported and misreads others at run time. The option is carried unconverted; fix "
    "its value.",
    Fidelity.NONE,
)

# --- P2: Prefect writer (IR → Python) ---------------------------------------------------------
P201 = Code(
    "P201",
    W,
    "expression {text!r} has no exact Python equivalent: {reason}; kept as a marked string",
    "A Pebble expression uses a filter, function or construct outside the translated subset. "
    "The generated code keeps the original text in a string so that nothing is lost; fix it "
    "by hand.",
    Fidelity.CARRIED,
)
P202 = Code(
    "P202",
    W,
    "task {id!r} of type {type!r} has no Prefect counterpart; it raises NotImplementedError",
    "Plugins without a Python equivalent become a task that keeps the original YAML in a "
    "comment and raises NotImplementedError naming the type; the rest of the flow still "
    "imports and runs up to it.",
    Fidelity.CARRIED,
)
P203 = Code(
    "P203",
    W,
    "{what} approximated in Prefect: {reason}",
    "The construct converts to the closest Prefect equivalent; the difference is stated.",
    Fidelity.APPROX,
)
P204 = Code(
    "P204",
    W,
    "{what} is not converted to Prefect: {reason}",
    "The construct has no Prefect counterpart; it is kept in a comment of the generated code.",
    Fidelity.NONE,
)

P205 = Code(
    "P205",
    INFO,
    "{what} {name!r} is named {target!r} in Prefect",
    "Prefect block and variable names allow only lower-case letters, digits, '-' and '_'; "
    "the Kestra name is slugged and the mapping reported so that the block or variable can "
    "be created under the new name.",
    Fidelity.EXACT,
)
P206 = Code(
    "P206",
    W,
    "python script of task {id!r} cannot be converted to a function body: {reason}; the "
    "script is kept as text and the task raises NotImplementedError",
    "Kestra renders a script's expressions before running it. flowbridge turns them into "
    "parameters of the task, which needs the script, with its expressions taken out, to be "
    "valid Python 3 without template blocks. Rewrite the script by hand.",
    Fidelity.CARRIED,
)

# --- D1: deployments and schedules (Prefect) -------------------------------------------------
D101 = Code(
    "D101",
    W,
    "schedule {what} approximated: {reason}",
    "The schedule converts to the closest Kestra cron schedule. When no cron matches it (an "
    "RRULE, an interval that does not divide a day evenly), it is left out of the Kestra flow "
    "and the Kestra writer says so (K201).",
    Fidelity.APPROX,
)
D102 = Code(
    "D102",
    W,
    "deployment trigger not converted: {reason}",
    "Only a trigger on another flow's completion has a Kestra counterpart (Flow trigger).",
    Fidelity.NONE,
)
D103 = Code(
    "D103",
    W,
    "invalid prefect.yaml: {reason}",
    "The deployment file does not match Prefect's schema; what can be read of it is still "
    "converted.",
)

D104 = Code(
    "D104",
    INFO,
    "tags {tags} of deployment {name!r} are not converted",
    "Kestra has no deployments, so a deployment's tags have no place to go. A Kestra flow's "
    "labels play their part (filtering executions): add the tags as labels if you use them.",
    fidelity=Fidelity.NONE,
)

# --- T1: IR passes ---------------------------------------------------------------------------
T101 = Code(
    "T101",
    W,
    "{what}: {reason}",
    "A rewrite between IR and a target could not keep the construct exactly.",
    Fidelity.APPROX,
)

# --- X: expressions -------------------------------------------------------------------------
X101 = Code(
    "X101",
    W,
    "cannot parse expression {text!r}: {reason}; kept verbatim",
    "The Pebble text is outside the supported grammar; it is carried unchanged.",
    Fidelity.CARRIED,
)

# --- G: step graph --------------------------------------------------------------------------
G101 = Code(
    "G101",
    E,
    "duplicate step id {id!r}",
    "Two steps of one flow share an id, so references to it are ambiguous.",
)
G102 = Code(
    "G102",
    E,
    "{step!r} depends on unknown step {ref!r}",
    "A dependency names a step that does not exist in the flow.",
)
G103 = Code(
    "G103",
    W,
    "{step!r} reads outputs of unknown step {ref!r}",
    "An expression reads outputs.<id> for an id that is not a step of this flow.",
)
G104 = Code(
    "G104",
    E,
    "dependency cycle: {cycle}",
    "Steps depend on each other in a loop, so no order can run them.",
)

# --- L: lint and check ----------------------------------------------------------------------
L001 = Code(
    "L001",
    W,
    "unused suppression of {codes}",
    "A `# flowbridge: ignore[...]` comment names a code that was not reported on its line. "
    "Remove it (or the code from it) so that suppressions do not hide future findings.",
)
L002 = Code(
    "L002",
    W,
    "suppression names unknown code {code!r}",
    "A `# flowbridge: ignore[...]` comment names a code that is not in the catalogue; "
    "`flowbridge explain` lists the known codes.",
)
L101 = Code(
    "L101",
    E,
    "stale: generated from {source} (sha256 {recorded}), which is now sha256 {current}",
    "The source of this generated file changed after it was generated. Convert the source "
    "again (`flowbridge convert`) and commit both; `flowbridge check --diff` shows the change.",
)
L102 = Code(
    "L102",
    E,
    "the source {source} of this generated file is missing",
    "The header of a generated file names a source file that no longer exists. Delete the "
    "generated file, or restore its source.",
)

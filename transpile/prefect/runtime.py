"""Small helpers the generated Prefect modules carry with them.

The generated code stays free of any flowbridge import: when a construct needs a few lines of
support (running Kestra-style commands, Kestra's notion of a true condition, HTTP calls), the
writer copies the helper into the module, once. The helpers are fixed code of ours; no user text
is ever formatted into them. Each entry is ``name: (source, imports)``; imports use the writer's
convention (``("json", "")`` is ``import json``).
"""

from __future__ import annotations

__all__ = ["HELPERS"]

_RUN_COMMANDS = '''
def _run_commands(commands, env, program):
    """Run Kestra-style commands; ``::{"outputs": ...}::`` lines on stdout become ``vars``."""
    if isinstance(commands, str):
        commands = [commands]
    script = "\\n".join(str(command) for command in commands)
    if program[0] in ("bash", "sh"):
        script = "set -e\\n" + script
    completed = subprocess.run(
        [*program, script],
        env={**os.environ, **{str(k): str(v) for k, v in (env or {}).items()}},
        capture_output=True,
        text=True,
        check=False,
    )
    outputs = {}
    for line in completed.stdout.splitlines():
        line = line.strip()
        if line.startswith("::{") and line.endswith("}::"):
            try:
                outputs.update(json.loads(line[2:-2]).get("outputs", {}))
            except ValueError:
                pass
        else:
            print(line)
    if completed.stderr:
        print(completed.stderr, file=sys.stderr)
    if completed.returncode != 0:
        raise RuntimeError(f"commands failed with exit code {completed.returncode}")
    return {"vars": outputs, "exitCode": completed.returncode}
'''

_HTTP_REQUEST = '''
def _http_request(method, uri, headers=None, body=None):
    """Kestra's http Request: fails on an error status; outputs code, body and headers."""
    content = (
        body if body is None or isinstance(body, (str, bytes)) else json.dumps(body)
    )
    response = httpx.request(
        str(method), str(uri), headers=headers or {}, content=content
    )
    response.raise_for_status()
    return {
        "code": response.status_code,
        "body": response.text,
        "headers": dict(response.headers),
    }
'''

_DOWNLOAD = '''
def _download(uri, headers=None):
    """Kestra's http Download: the file goes to a local temporary file, whose path is ``uri``."""
    with httpx.stream(
        "GET", str(uri), headers=headers or {}, follow_redirects=True
    ) as response:
        response.raise_for_status()
        with tempfile.NamedTemporaryFile(delete=False) as file:
            for chunk in response.iter_bytes():
                file.write(chunk)
    return {"uri": file.name, "code": response.status_code}
'''

_AS_LIST = '''
def _as_list(values):
    """ForEach values: a list, or a JSON array rendered as text."""
    if isinstance(values, str):
        values = json.loads(values)
    return list(values)
'''

_TRUTHY = '''
def _truthy(value):
    """Kestra's truthiness of a rendered condition."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "-0", "0.0", "null")
    return bool(value)
'''

_JSON_VALUE = '''
def _json_value(value):
    """A JSON output: text is parsed, data is kept."""
    return json.loads(value) if isinstance(value, str) else value
'''

_VARIABLE_NAME = '''
def _variable_name(key):
    """A Kestra KV key as a Prefect variable name (lower case, digits, _ and -)."""
    return re.sub(r"[^a-z0-9_-]+", "_", str(key).lower())
'''

HELPERS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "_run_commands": (_RUN_COMMANDS, (("json", ""), ("os", ""), ("subprocess", ""), ("sys", ""))),
    "_http_request": (_HTTP_REQUEST, (("httpx", ""), ("json", ""))),
    "_download": (_DOWNLOAD, (("httpx", ""), ("tempfile", ""))),
    "_as_list": (_AS_LIST, (("json", ""),)),
    "_truthy": (_TRUTHY, ()),
    "_json_value": (_JSON_VALUE, (("json", ""),)),
    "_variable_name": (_VARIABLE_NAME, (("re", ""),)),
}

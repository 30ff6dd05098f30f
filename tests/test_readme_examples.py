"""The READMEs' examples, run: every curl example in the repository's Markdown files is run against the demo
suite as `./dev up --demo` leaves it, and the responses it shows are checked — a README cannot drift from
the code.

How an example is written (and read here):
- A ```bash block with a `curl` in it is an example block; a curl command anywhere else fails
  `test_every_curl_is_in_an_example_block`. A document's example blocks run in order in one bash
  (`set -euo pipefail`, so a variable set by one example serves the next, and a failing command fails the
  test with the document and line), in a directory holding `.data/` as `./dev up --demo` leaves it. The
  documented local ports (gateway 8100, services 8101-8105) are mapped to the test suite's own.
- Every request must answer below 400, unless the example shows another status.
- A response is shown by a comment with an arrow, at the end of the command or on the line right after
  it: `# → 403` (the status), `# → {"batch_id": "0b6f…", "rejected": 0}` (the shape of the body: its
  keys, recursively, each with its value's type — string, number, boolean, null, object, list, a list's
  first element standing for every element; `…` alone is any value, and in a key's place stands for more
  keys), `# → 403 "text"` (the status, and a text the body contains). Prose may come before the arrow and
  after what it shows (`# another city → 403 "the region is outside your regions"`). It is the answer to
  the command's last request, whatever `jq` then shows of it. A ```json block right after an example
  block shows the shape of that block's last response alike.
- A command that cannot run on the demo ends with `# not run: <why>` and is left out (keep them very few).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devtools.demo import GatewayAccess, load_demo
from devtools.demo_accounts import create_demo_accounts
from devtools.demo_clients import start_gateway
from devtools.embedded import database_url, drop_database, free_port
from devtools.runner import Infrastructure, ServiceProcess, start_services
from devtools.testing import REPO_ROOT
from kernel.service import discover_services

DEMO_PEOPLE = 400  # as `./dev up --demo` (Inner Mongolia; Heilongjiang half)
SCRIPT_TIMEOUT = 120.0
MOST_NOT_RUN = 3  # exceptions across all documents

ARROW = "→"
ANY = object()  # `…` in a shown shape: any value
MORE_KEYS = "…"  # `…` in a key's place


# --- reading the documents -------------------------------------------------------------------------------


@dataclass
class Command:
    """One shell command of an example block (several lines when continued or quoted across lines)."""

    line: int  # of the document, 1-based: its first line
    text: str
    shown: str | None = None  # what its arrow comment shows
    not_run: str | None = None  # why it is left out


@dataclass
class Block:
    lang: str
    line: int  # the document's line of the block's first content line
    lines: list[str]
    commands: list[Command] = field(default_factory=list)
    shown_json: str | None = None  # a ```json block right after it


@dataclass
class Document:
    path: Path
    blocks: list[Block]
    problems: list[str]  # what the conventions above do not allow

    @property
    def name(self) -> str:
        return str(self.path.relative_to(REPO_ROOT))

    @property
    def examples(self) -> list[Block]:
        return [block for block in self.blocks if is_example(block)]


CURL_WORD = re.compile(r"\bcurl\b")
CURL_COMMAND = re.compile(r"\bcurl\s+(-|[\"'$]|https?://)")
FENCE = re.compile(r"^\s*```(\S*)")
COMMENT = re.compile(r"(?:^|\s)#\s(.*)$")
NOT_RUN = re.compile(r"not run:\s*(.*)$")


def is_example(block: Block) -> bool:
    return block.lang == "bash" and any(CURL_WORD.search(line) for line in block.lines)


def markdown_files() -> list[Path]:
    """Every Markdown file of the repository, outside hidden folders (.venv, .data, .git…)."""
    found = []
    for folder, subfolders, files in os.walk(REPO_ROOT):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".") and d != "node_modules")
        found += [Path(folder) / name for name in files if name.endswith(".md")]
    return sorted(found)


def parse_blocks(path: Path, name: str) -> tuple[list[Block], list[str]]:
    """The fenced blocks, and curl commands found outside them."""
    blocks: list[Block] = []
    outside: list[str] = []
    current: Block | None = None
    previous_end = -1  # the line where the last block closed
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        fence = FENCE.match(line)
        if current is None and fence:
            current = Block(fence.group(1), number + 1, [])
            if current.lang == "json" and blocks and is_example(blocks[-1]):
                between = lines[previous_end : number - 1]
                if not any(text.strip() for text in between):
                    blocks[-1].shown_json = ""  # filled when the block closes
        elif current is not None and fence and not fence.group(1):
            if current.lang == "json" and blocks and blocks[-1].shown_json == "":
                blocks[-1].shown_json = "\n".join(current.lines)
            blocks.append(current)
            current, previous_end = None, number
        elif current is not None:
            current.lines.append(line)
        elif CURL_COMMAND.search(line):
            outside.append(f"{name}:{number}: a curl command outside an example block")
    return blocks, outside


def parses(text: str) -> bool:
    """Whether bash reads `text` as complete commands (no quote, loop or continuation left open)."""
    if text.rstrip().endswith("\\"):
        return False
    return subprocess.run(["bash", "-n"], check=False, input=text, text=True, capture_output=True).returncode == 0


def split_commands(block: Block, name: str) -> list[str]:
    """Reads the block's commands into `block.commands`, each with what its arrow shows; returns the problems."""
    problems = []
    pending: list[str] = []
    first = block.line
    following: Command | None = None  # the command an arrow on the next line would show the response of
    for offset, line in enumerate(block.lines):
        if not pending:
            first = block.line + offset
        pending.append(line)
        text = "\n".join(pending)
        if not parses(text):
            continue
        pending = []
        comment = COMMENT.search(text.splitlines()[-1] if text.strip() else "")
        shown = comment.group(1).split(ARROW, 1)[1].strip() if comment and ARROW in comment.group(1) else None
        if text.lstrip().startswith("#") or not text.strip():  # a comment or blank line
            if shown is not None and following is None:
                problems.append(f"{name}:{first}: an arrow that follows no command")
            elif shown is not None and following is not None:
                following.shown = shown
            following = None
            continue
        command = Command(first, text, shown=shown)
        if comment and (reason := NOT_RUN.search(comment.group(1))):
            command.not_run = reason.group(1).strip()
            if len(command.not_run) < 10:
                problems.append(f"{name}:{first}: `# not run:` without a reason")
        block.commands.append(command)
        following = command if shown is None else None
    if pending:
        problems.append(f"{name}:{first}: bash cannot read the command that starts here")
    return problems


def read_document(path: Path) -> Document:
    name = str(path.relative_to(REPO_ROOT))
    blocks, problems = parse_blocks(path, name)
    document = Document(path, blocks, problems)
    for block in blocks:
        if not is_example(block):
            if CURL_WORD.search("\n".join(block.lines)):
                problems.append(f"{document.name}:{block.line}: a curl in a ```{block.lang} block, not a ```bash one")
            continue
        problems += split_commands(block, document.name)
    return document


DOCUMENTS = [read_document(path) for path in markdown_files()]


# --- what a response shows -------------------------------------------------------------------------------


@dataclass
class Shown:
    status: int | None  # None: any status below 400
    shape: Any = None  # parsed, with ANY and MORE_KEYS; None: not shown
    text: str | None = None


def read_shown(shown: str) -> Shown:
    """`403`, `{…}`, `403 "text"`, `403 {…}`, each possibly followed by prose."""
    status = None
    if match := re.match(r"(\d{3})\b[:,]?\s*", shown):
        status = int(match.group(1))
        shown = shown[match.end() :]
    if shown.startswith(("{", "[")):
        return Shown(status, shape_of(shown[: closing(shown) + 1]))
    if shown.startswith('"'):
        return Shown(status, text=shown[1 : shown.index('"', 1)])
    return Shown(status)


def closing(text: str) -> int:
    """Where the bracket `text` opens closes (strings skipped)."""
    depth, in_string, escaped = 0, False, False
    for index, char in enumerate(text):
        if in_string:
            escaped, in_string = (char == "\\" and not escaped), in_string and (char != '"' or escaped)
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return index
    raise ValueError(f"unclosed {text[:1]} in a shown response")


_ANY_MARK = "\ue000"


def shape_of(text: str) -> Any:
    """A shown body as JSON, where a bare `…` is any value (or, in a key's place, more keys)."""
    out: list[str] = []
    stack: list[str] = []
    in_string, escaped = False, False
    last = ""  # the last significant character outside strings
    for char in text:
        if in_string:
            out.append(char)
            escaped, in_string = (char == "\\" and not escaped), char != '"' or escaped
            continue
        if char == "…":
            if stack and stack[-1] == "{" and last in "{,":
                out.append(f'"{MORE_KEYS}": null')
            else:
                out.append(f'"{_ANY_MARK}"')
            last = '"'
            continue
        if char == '"':
            in_string = True
        elif char in "{[":
            stack.append(char)
        elif char in "}]":
            stack.pop()
        out.append(char)
        if not char.isspace():
            last = char
    return _mark_any(json.loads("".join(out)))


def _mark_any(value: Any) -> Any:
    if value == _ANY_MARK:
        return ANY
    if isinstance(value, dict):
        return {key: _mark_any(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mark_any(item) for item in value]
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    kinds: dict[type, str] = {str: "string", dict: "object", list: "list"}
    return kinds[type(value)]


def mismatches(shown: Any, actual: Any, path: str = "$") -> list[str]:
    """Where `actual` lacks a key `shown` has, or holds another type (never the values: they may be personal)."""
    if shown is ANY:
        return []
    if _kind(shown) != _kind(actual):
        return [f"{path}: {_kind(shown)} shown, {_kind(actual)} answered"]
    if isinstance(shown, dict):
        found = []
        for key, value in shown.items():
            if key == MORE_KEYS:
                continue
            if key not in actual:
                found.append(f"{path}: no {key!r}")
            else:
                found += mismatches(value, actual[key], f"{path}.{key}")
        return found
    if isinstance(shown, list) and shown:
        return [
            problem for index, item in enumerate(actual) for problem in mismatches(shown[0], item, f"{path}[{index}]")
        ]
    return []


# --- running them ----------------------------------------------------------------------------------------


@dataclass
class DemoSuite:
    home: Path  # the examples' working directory: `.data/` as ./dev up --demo leaves it, `.venv`
    ports: dict[int, int]  # documented port -> this suite's


@pytest.fixture(scope="module")
def demo_suite(infra: Infrastructure, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSuite]:
    """The suite as `./dev up --demo` runs it (every service, the gateway with the demo clients, the demo
    pushed through it), on ports and databases of its own and topics under a prefix of its own."""
    specs = discover_services()
    front = specs.pop("gateway")
    home = tmp_path_factory.mktemp("readme")
    (home / ".venv").symlink_to(REPO_ROOT / ".venv")
    data = home / ".data"
    (data / "logs").mkdir(parents=True)
    run = uuid.uuid4().hex[:8]
    ports = {name: free_port() for name in [*specs, front.name]}
    options: dict[str, Any] = {
        "database_prefix": f"test_readme_{run}_",
        "log_dir": data / "logs",
        "extra_env": {"KAFKA_TOPIC_PREFIX": f"readme{run}.", "OUTBOX_POLL_SECONDS": "0.2"},
        "ports": ports,
        "say": lambda _: None,
    }
    processes: list[ServiceProcess] = []
    try:
        with open(data / "demo.log", "w") as said, contextlib.redirect_stdout(said):
            processes += start_services(infra, specs.values(), **options)
            gateway, secrets = start_gateway(
                infra, front, processes, clients_path=data / "demo-clients.json", **options
            )
            processes.append(gateway)
            create_demo_accounts(
                database_url(infra.server_url, f"test_readme_{run}_gateway"), data / "demo-accounts.json"
            )
            started = time.monotonic()
            load_demo(
                processes,
                people=DEMO_PEOPLE,
                files=data / "demo",
                gateway=GatewayAccess.of_demo_clients(gateway.url, secrets),
            )
            print(f"demo loaded in {time.monotonic() - started:.1f}s")
        everything = [*specs.values(), front]
        yield DemoSuite(home, {spec.port: ports[spec.name] for spec in everything})
    finally:
        for process in reversed(processes):
            process.stop()
        for name in [*specs, front.name]:
            asyncio.run(drop_database(infra.server_url, f"test_readme_{run}_{name}"))


# Each request the examples make leaves its statement's line, headers and body in the log folder, named by
# the time it was made; the body is passed on as curl would have written it.
PRELUDE = r"""set -euo pipefail
__line=0
trap '__status=$?; [ $__status = 0 ] || echo "$__line" > "$README_LOG/failed-at"' EXIT
curl() {
  local at="$README_LOG/${EPOCHREALTIME/./}-$BASHPID" status=0
  echo "$__line" > "$at.line"
  command curl -D "$at.head" "$@" > "$at.body" || status=$?
  cat "$at.body"
  return $status
}
"""


def script_of(document: Document, ports: dict[int, int]) -> str:
    parts = [PRELUDE]
    for block in document.examples:
        for command in block.commands:
            text = ": not run" if command.not_run else command.text
            for documented, actual in ports.items():
                text = re.sub(rf"\b127\.0\.0\.1:{documented}\b", f"127.0.0.1:{actual}", text)
            parts.append(f"__line={command.line}\n{text}\n")
    return "".join(parts)


@dataclass
class Request:
    line: int
    status: int | None  # None: no answer
    body: bytes


def requests_made(log: Path) -> list[Request]:
    """In the order they were made."""
    made = []
    for line_file in sorted(log.glob("*.line"), key=lambda p: int(p.name.split("-")[0])):
        stem = line_file.with_suffix("")
        head = stem.with_suffix(".head")
        statuses = re.findall(r"^HTTP/\S+ (\d{3})", head.read_text("latin-1"), re.M) if head.exists() else []
        body = stem.with_suffix(".body")
        made.append(
            Request(
                int(line_file.read_text()),
                int(statuses[-1]) if statuses else None,
                body.read_bytes() if body.exists() else b"",
            )
        )
    return made


def check_response(where: str, request: Request, shown: Shown) -> list[str]:
    if shown.status is not None and request.status != shown.status:
        return [f"{where}: {shown.status} shown, {request.status} answered{error_of(request)}"]
    if shown.status is None and (request.status is None or request.status >= 400):
        return [f"{where}: {request.status} answered{error_of(request)}"]
    if shown.text is not None and shown.text not in request.body.decode("utf-8", "replace"):
        return [f"{where}: the answer does not say {shown.text!r}{error_of(request)}"]
    if shown.shape is None:
        return []
    try:
        body = json.loads(request.body)
    except ValueError:
        return [f"{where}: the answer is not JSON"]
    return [f"{where}: {problem}" for problem in mismatches(shown.shape, body)]


def error_of(request: Request) -> str:
    """An error's body (errors never echo values), for the failure message; nothing of a success."""
    if request.status is not None and request.status >= 400:
        return f" ({request.body[:300].decode('utf-8', 'replace')})"
    return ""


def check(document: Document, made: list[Request], failed_at: int | None) -> list[str]:
    """Every request below 400 unless its command shows another status; every shown response as shown —
    up to the command that failed, if one did."""
    by_line: dict[int, list[Request]] = {}
    for request in made:
        by_line.setdefault(request.line, []).append(request)
    problems: list[str] = []
    for block in document.examples:
        last: Request | None = None
        for command in block.commands:
            if failed_at is not None and command.line >= failed_at:
                return problems
            requests = by_line.get(command.line, [])
            where = f"{document.name}:{command.line}"
            if command.shown is None:
                problems += [problem for r in requests for problem in check_response(where, r, Shown(None))]
            elif not requests:
                problems.append(f"{where}: shows a response, but made no request")
            else:
                problems += [problem for r in requests[:-1] for problem in check_response(where, r, Shown(None))]
                problems += check_response(where, requests[-1], read_shown(command.shown))
            last = requests[-1] if requests else last
        if block.shown_json is not None and last is not None:
            where = f"{document.name}:{block.line} (the json block after the block)"
            problems += check_response(where, last, Shown(None, shape_of(block.shown_json)))
    return problems


EXAMPLES = [document for document in DOCUMENTS if document.examples]


@pytest.mark.parametrize("document", EXAMPLES, ids=[document.name for document in EXAMPLES])
def test_examples_run_as_shown(document: Document, demo_suite: DemoSuite, tmp_path: Path) -> None:
    assert not document.problems, document.problems  # test_every_curl_is_in_an_example_block says more
    log = tmp_path / "requests"
    log.mkdir()
    script = tmp_path / "examples.sh"
    script.write_text(script_of(document, demo_suite.ports))
    env = {"PATH": os.environ["PATH"], "HOME": str(demo_suite.home), "LANG": "C.UTF-8", "README_LOG": str(log)}
    started = time.monotonic()
    with open(tmp_path / "stdout", "wb") as stdout:  # kept out of the test's output: the answers hold names
        try:
            ran = subprocess.run(
                ["bash", str(script)],
                check=False,
                cwd=demo_suite.home,
                env=env,
                stdout=stdout,
                stderr=subprocess.PIPE,
                timeout=SCRIPT_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            made = requests_made(log)
            where = f"{document.name}:{made[-1].line}" if made else document.name
            pytest.fail(f"the examples took over {SCRIPT_TIMEOUT:.0f}s; the last request was made at {where}")
    failed_at = int((log / "failed-at").read_text()) if ran.returncode else None
    problems = check(document, requests_made(log), failed_at)
    if failed_at is not None:
        said = ran.stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
        problems.append(f"{document.name}:{failed_at}: failed (exit status {ran.returncode}): {' | '.join(said)}")
    assert not problems, "\n".join(problems)
    print(f"{document.name}: {len(requests_made(log))} requests in {time.monotonic() - started:.1f}s")


def test_every_curl_is_in_an_example_block() -> None:
    """So that an example cannot be left out: every curl command of every Markdown file is in a ```bash block
    that runs, each of its commands reads as bash, every arrow follows a command and says something this
    file can check, and the few commands left out say why."""
    problems = [problem for document in DOCUMENTS for problem in document.problems]
    not_run = [
        (document.name, command.line)
        for document in EXAMPLES
        for block in document.examples
        for command in block.commands
        if command.not_run
    ]
    for document in EXAMPLES:
        for block in document.examples:
            for command in block.commands:
                if command.shown is not None:
                    try:
                        read_shown(command.shown)
                    except ValueError as exc:
                        problems.append(f"{document.name}:{command.line}: the shown response cannot be read: {exc}")
            if block.shown_json is not None:
                try:
                    shape_of(block.shown_json)
                except ValueError as exc:
                    problems.append(f"{document.name}:{block.line}: the json block after it cannot be read: {exc}")
    assert not problems, "\n".join(problems)
    assert len(not_run) <= MOST_NOT_RUN, f"too many examples left out: {not_run}"
    assert {"README.md", "case-svc/README.md", "gateway/README.md"} <= {document.name for document in EXAMPLES}


def test_the_checks_catch_drift() -> None:
    """What the examples are held to can fail: a missing key, another type, another status, a text not said,
    a command bash cannot read, an arrow after nothing, a command left out without a reason."""
    shown = read_shown('{"items": [{"case_ref": "AJ-…", "status": "open", …}], "next_cursor": …}')
    assert (
        mismatches(shown.shape, {"items": [{"case_ref": "AJ-1", "status": "closed", "more": 1}], "next_cursor": None})
        == []
    )
    assert mismatches(shown.shape, {"items": [{"status": 3}], "next_cursor": "x"}) == [
        "$.items[0]: no 'case_ref'",
        "$.items[0].status: string shown, number answered",
    ]
    refused = Request(1, 404, b'{"detail": [{"type": "not_found", "msg": "no case with this reference", "loc": []}]}')
    assert check_response("x", refused, read_shown('404 "no case" (prose)')) == []
    assert check_response("x", refused, read_shown('403 "no case"'))
    assert check_response("x", refused, read_shown('404 "outside your regions"'))
    assert check_response("x", refused, Shown(None))  # an error nobody shows
    assert check_response("x", Request(1, 200, b"[]"), read_shown("{}")) == ["x: $: object shown, list answered"]

    block = Block("bash", 10, ["X=$(curl -s a \\", "  | jq .)", "# → 403", "", "# → 200", "curl b   # not run: x"])
    problems = split_commands(block, "doc")
    assert [(c.line, c.shown) for c in block.commands] == [(10, "403"), (15, None)]
    assert problems == ["doc:14: an arrow that follows no command", "doc:15: `# not run:` without a reason"]
    assert split_commands(Block("bash", 1, ["curl -d '{", '  "a": 1']), "doc") == [
        "doc:1: bash cannot read the command that starts here"
    ]

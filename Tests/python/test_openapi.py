"""docs/openapi.yaml against OpenAPI 3.1, against docs/api.md, and against what the daemon really answers.

The Swift end-to-end tests record every answer they receive from slotgated (method, target, status, headers,
body) as JSON lines in the file SLOTGATE_E2E_ANSWERS names; `make test` sets it to .build/e2e-answers.jsonl and
runs them before this suite. Each recorded answer must match a documented operation and status, its body the
schema of that response and its headers the documented ones; every documented operation must have been seen.
So a route, a key, a state or an error code the document lacks (or keeps after the daemon dropped it) fails
here.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "docs" / "openapi.yaml"
GUIDE_PATH = ROOT / "docs" / "api.md"
ANSWERS_PATH = Path(os.environ.get("SLOTGATE_E2E_ANSWERS") or ROOT / ".build" / "e2e-answers.jsonl")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
SPEC_URI = "urn:slotgate:openapi"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as file:
        return yaml.safe_load(file)


def test_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1."), f"docs/openapi.yaml says openapi {spec['openapi']}, not 3.1"
    validate(spec, cls=OpenAPIV31SpecValidator)


# MARK: The two documents agree


def guide_error_table() -> dict[str, set[int]]:
    """code -> statuses, from the error table of docs/api.md (`| 503 | `wait_timeout` | ...`)."""
    codes: dict[str, set[int]] = defaultdict(set)
    for line in GUIDE_PATH.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| (\d{3}) \| `([a-z_]+)` \|", line)
        if match:
            codes[match.group(2)].add(int(match.group(1)))
    return codes


def test_error_codes_agree_with_the_guide(spec: dict[str, Any]) -> None:
    documented: dict[str, set[int]] = defaultdict(set)
    for _, _, operation in operations(spec):
        for status, response in operation["responses"].items():
            if status == "default":
                continue
            for code in error_codes(spec, resolve(spec, response)):
                documented[code].add(int(status))
    for name in ("NotFound", "MethodNotAllowed"):
        response = spec["components"]["responses"][name]
        for code in error_codes(spec, response):
            documented[code].add(404 if name == "NotFound" else 405)
    enum = set(spec["components"]["schemas"]["ErrorCode"]["enum"])
    assert set(documented) == enum, f"codes in ErrorCode but in no response: {enum - set(documented)}"
    assert dict(guide_error_table()) == dict(documented), "docs/api.md's error table and docs/openapi.yaml differ"


def test_every_operation_is_in_the_guide(spec: dict[str, Any]) -> None:
    guide = GUIDE_PATH.read_text(encoding="utf-8")
    missing = [
        f"{method.upper()} {path}"
        for path, method, _ in operations(spec)
        if "{platform_path}" not in path and f"{method.upper()} {path}" not in guide
    ]
    assert not missing, f"docs/api.md does not mention {missing}"


# MARK: The recorded answers


def test_every_recorded_answer_matches_the_document(spec: dict[str, Any]) -> None:
    if not ANSWERS_PATH.exists():
        pytest.skip(
            f"{ANSWERS_PATH} is absent: run the Swift end-to-end tests with SLOTGATE_E2E_ANSWERS={ANSWERS_PATH} "
            "first (make test does)"
        )
    checker = AnswerChecker(spec)
    lines = ANSWERS_PATH.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if line.strip():
            checker.check(json.loads(line), where=f"{ANSWERS_PATH.name}:{number}")
    assert checker.checked > 0, f"{ANSWERS_PATH} holds no answers"
    problems = sorted(checker.problems.items(), key=lambda item: -len(item[1]))
    report = "\n".join(f"{problem} ({len(places)}x, first at {places[0]})" for problem, places in problems[:40])
    assert not problems, f"{len(problems)} kinds of answers do not match docs/openapi.yaml:\n{report}"

    unseen = sorted(f"{method.upper()} {path}" for path, method, _ in operations(spec) if (path, method) not in checker.seen)
    assert not unseen, (
        f"documented operations no end-to-end test reached (a stale route, or one to add to "
        f"Tests/SlotgateEndToEndTests/DocumentedRoutesTests.swift): {unseen}"
    )


class AnswerChecker:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.registry = Registry().with_resource(SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012))
        self.routes = routes(spec)
        self.problems: dict[str, list[str]] = defaultdict(list)
        self.seen: set[tuple[str, str]] = set()
        self.statuses: set[tuple[str, str, str]] = set()
        self.checked = 0

    def problem(self, text: str, where: str) -> None:
        self.problems[text].append(where)

    def check(self, entry: dict[str, Any], where: str) -> None:
        self.checked += 1
        status = entry["status"]
        method = entry.get("method")
        uri = entry.get("uri")
        if method is None or uri is None:
            # Bytes that were no request to speak of (fuzz, parse errors): an error body when it is an error.
            if status >= 400:
                self.check_response(entry, {"content": {"application/json": {"schema": ref("Error")}}}, f"raw {status}", where)
            return
        path = urlsplit(uri).path
        label = f"{method} {path} {status}"
        matches = [(template, item) for template, pattern, item in self.routes if pattern.fullmatch(path)]
        operation_path = next((template for template, item in matches if method.lower() in item), None)
        if operation_path is None:
            name, expected = ("MethodNotAllowed", 405) if matches else ("NotFound", 404)
            if status in (413, 503):
                # Refused before routing (body over the limit, too many connections).
                name = "BodyTooLarge" if status == 413 else "ConnectionRefused"
            elif status != expected:
                self.problem(f"{label}: an undocumented route should answer {expected}", where)
                return
            self.check_response(entry, self.spec["components"]["responses"][name], label, where)
            return
        operation = self.spec["paths"][operation_path][method.lower()]
        responses = operation["responses"]
        key = str(status) if str(status) in responses else "default" if "default" in responses else None
        if operation.get("x-slotgate-passes-through") and status >= 400 and "default" in responses and not is_daemon_error(entry):
            # The platform's own answer with a status the daemon also uses: passed through unchanged.
            key = "default"
        if key is None:
            self.problem(f"{method} {operation_path}: status {status} is not documented", where)
            return
        self.seen.add((operation_path, method.lower()))
        self.statuses.add((operation_path, method.lower(), key))
        self.check_response(entry, resolve(self.spec, responses[key]), f"{method} {operation_path} {status}", where)

    def check_response(self, entry: dict[str, Any], response: dict[str, Any], label: str, where: str) -> None:
        headers: dict[str, str] = {name.lower(): value for name, value in entry.get("headers", {}).items()}
        # One line of a streamed answer carries no headers of its own: the answer's head is recorded separately.
        documented_headers = {} if entry.get("stream_line") else response.get("headers") or {}
        for name, header in documented_headers.items():
            header = resolve(self.spec, header)
            value = headers.get(name.lower())
            if value is None:
                if header.get("required"):
                    self.problem(f"{label}: the documented header {name} is missing", where)
                continue
            for error in self.validator(header.get("schema", {})).iter_errors(value):
                self.problem(f"{label}: header {name}: {error.message}", where)

        body = base64.b64decode(entry["body_base64"]) if "body_base64" in entry else entry.get("body", "").encode()
        content = response.get("content")
        if not content:
            if body:
                self.problem(f"{label}: a body where the document has none", where)
            return
        media = (headers.get("content-type") or "").split(";")[0].strip().lower()
        if media in content:
            schema = content[media].get("schema", {})
        elif "*/*" in content:
            return
        else:
            self.problem(f"{label}: Content-Type {media or '(none)'} is not one of {sorted(content)}", where)
            return
        text = body.decode("utf-8", errors="replace")
        if media == "application/json":
            try:
                values = [json.loads(text)]
            except json.JSONDecodeError as error:
                self.problem(f"{label}: the body is not JSON ({error})", where)
                return
        elif media == "application/x-ndjson":
            values = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            values = [text]
        for value in values:
            for error in self.validator(schema).iter_errors(value):
                path = "/".join(str(part) for part in error.absolute_path)
                self.problem(f"{label}: {path or 'body'}: {error.message[:300]}", where)

    def validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        if "$ref" in schema and schema["$ref"].startswith("#"):
            schema = {**schema, "$ref": SPEC_URI + schema["$ref"]}
        return Draft202012Validator(schema, registry=self.registry)


# MARK: Reading the document


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follows `$ref`s to components (responses, headers, parameters)."""
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, item[method]) for path, item in spec["paths"].items() for method in METHODS if method in item]


def routes(spec: dict[str, Any]) -> list[tuple[str, re.Pattern[str], dict[str, Any]]]:
    """Path templates as patterns, the most specific first (fewer parameters; `{platform_path}` spans segments)."""
    compiled = []
    for template, item in spec["paths"].items():
        pattern = ""
        for part in re.split(r"(\{[^}]+\})", template):
            if part == "{platform_path}":
                pattern += "(.+)"
            elif part.startswith("{"):
                pattern += "([^/]+)"
            else:
                pattern += re.escape(part)
        compiled.append((template.count("{"), "{platform_path}" in template, template, re.compile(pattern), item))
    compiled.sort(key=lambda entry: (entry[1], entry[0]))
    return [(template, pattern, item) for _, _, template, pattern, item in compiled]


def is_daemon_error(entry: dict[str, Any]) -> bool:
    """Whether an answer has the daemon's error body (`{"error": {"code", ...}}`), not a platform's."""
    try:
        body = json.loads(entry.get("body") or "null")
    except json.JSONDecodeError:
        return False
    return isinstance(body, dict) and isinstance(body.get("error"), dict) and "code" in body["error"]


def error_codes(spec: dict[str, Any], response: dict[str, Any]) -> set[str]:
    """The error codes a response's schema allows (its `const` or `enum` on error.code)."""
    codes: set[str] = set()
    for media in (response.get("content") or {}).values():
        schema = resolve(spec, media.get("schema", {}))
        for part in schema.get("allOf", []):
            code = part.get("properties", {}).get("error", {}).get("properties", {}).get("code", {})
            codes |= {code["const"]} if "const" in code else set(code.get("enum", []))
    return codes

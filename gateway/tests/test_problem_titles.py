"""Every stable code has its Japanese and English titles in one catalogue (gateway.problems):
each code the API document names, and each code a service raises that the gateway passes on.

The services' codes are read from their source: every string (or module constant) given as
the code of a ShokudoError class, the way the services raise them.
"""

import ast
import re
from pathlib import Path

import pytest

from gateway import errors, openapi, problems
from gateway.http import ROUTES
from gateway.service import GatewayService  # noqa: F401 - declares every route

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["services/*/*/*.py", "common/shokudo_common/*.py", "gateway/gateway/**/*.py"]
ERROR_CLASSES = {"ShokudoError", "InvalidInput", "NotFound", "Conflict", "Forbidden",
                 "Unavailable", "Unauthenticated", "TooManyRequests", "MalformedRequest",
                 "PayloadTooLarge", "UnsupportedMediaType"}
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def raised_codes():
    """The codes services, shared plumbing and the gateway raise, read from their source."""
    codes = set()
    for pattern in SOURCES:
        for path in ROOT.glob(pattern):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            constants = {node.targets[0].id: node.value.value for node in tree.body
                         if isinstance(node, ast.Assign) and len(node.targets) == 1
                         and isinstance(node.targets[0], ast.Name)
                         and isinstance(node.value, ast.Constant)}
            codes |= {code for node in ast.walk(tree) if (code := _code_raised(node, constants))}
    return codes


def _code_raised(node, constants):
    if not isinstance(node, ast.Call) or not node.args:
        return None
    name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
    if name not in ERROR_CLASSES:
        return None
    first = node.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    if isinstance(first, ast.Name) and isinstance(constants.get(first.id), str):
        return constants[first.id]
    return None


def documented_codes():
    codes = set(openapi.CODE_STATUS)
    for spec in ROUTES:
        for named in openapi.error_statuses(spec).values():
            codes |= named
    return codes | {code for code, _ in errors.ROUTING_PROBLEMS.values()} | {
        "internal_error", "service_unavailable", "http_error"}


def test_the_source_scan_finds_what_services_raise():
    found = raised_codes()

    # One of each kind: a literal, a module constant, a gateway-only code, a shared one.
    assert {"household_cap_reached", "idempotency_key_reused", "too_many_failed_lookups",
            "concern_closed", "session_expired"} <= found


def test_every_code_documented_or_raised_has_a_japanese_and_an_english_title():
    codes = documented_codes() | raised_codes()

    assert sorted(codes - set(problems.TITLES)) == []


@pytest.mark.parametrize("code", sorted(problems.TITLES))
def test_each_title_is_japanese_first_and_english_beside_it(code):
    english, japanese = problems.TITLES[code]

    assert JAPANESE.search(japanese), code
    assert english.isascii() and english[0].isupper(), code


def test_a_problem_answer_carries_both_titles_and_the_document_declares_them(gateway):
    response = gateway.post("/v1/app/activate", data=b"{", headers={
        "Content-Type": "application/json"})

    body = response.json()
    assert (body["code"], body["title"], body["title_ja"]) == (
        "invalid_json", "Body not JSON", "本文がJSONとして読めません")
    problem = gateway.get("/openapi.json").json()["components"]["schemas"]["Problem"]
    assert {"title", "title_ja"} <= set(problem["required"])

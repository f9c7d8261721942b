"""Dependency direction: streams -> meetings, never back; streams/rtms/ and the emulator core are
framework-free."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_meetings_never_imports_streams():
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path) if m.split(".")[0] == "streams")
        for path in python_files("meetings")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_rtms_client_and_emulator_import_no_django_and_none_of_our_apps():
    allowed_prefixes = ("streams.rtms", "rtms_emulator")
    offenders = {}
    for folder in ("streams/rtms", "rtms_emulator"):
        for path in python_files(folder):
            if "management" in path.parts:
                continue
            bad = sorted(
                m
                for m in imported_modules(path)
                if m.split(".")[0] in {"django", "channels", "meetings", "rtms_assistant", "celery"}
                or (m.split(".")[0] == "streams" and not m.startswith(allowed_prefixes))
            )
            if bad:
                offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


def test_the_check_itself_catches_a_forbidden_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from django.db import models\nimport streams.ingest\n")
    assert imported_modules(sample) == {"django.db", "streams.ingest"}

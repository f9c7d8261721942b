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


# --- apps by responsibility: ingestion (streams) -> transcription -> meetings -> jobs ----------
# The tools beside the product (rtms_emulator, demo, bench) may import the product; the product
# never imports them. No app imports rtms_assistant (the project: settings come via django.conf).
PRODUCT_LAYERS = ["streams", "transcription", "meetings", "jobs"]  # each may import those after it
TOOLS = {"rtms_emulator", "demo", "bench", "tests"}


def forbidden_for(app: str) -> set[str]:
    index = PRODUCT_LAYERS.index(app)
    return set(PRODUCT_LAYERS[:index]) | TOOLS | {"rtms_assistant"}


# streams/rtms/ is the RTMS protocol as a pure library (no Django, none of our apps: the test
# above): its constants (PCM format, frame size) are the one source for every layer.
PURE_LIBRARY = "streams.rtms"


def test_apps_depend_one_way_and_never_on_the_tools_or_the_project():
    offenders = {}
    for app in PRODUCT_LAYERS:
        for path in python_files(app):
            bad = sorted(
                m
                for m in imported_modules(path)
                if m.split(".")[0] in forbidden_for(app) and not m.startswith(PURE_LIBRARY)
            )
            if bad:
                offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


def test_the_layers_forbid_what_they_should():
    assert forbidden_for("meetings") == {"streams", "transcription", "rtms_assistant"} | TOOLS
    assert "meetings" not in forbidden_for("streams")


# --- one run-mode seam: settings + jobs/ decide embedded vs scaled ----------------------------
RUN_MODE_NAMES = ("CELERY_TASKS_IN_PROCESS", "EMBEDDED", "RUN_MODE", "task_always_eager", "inprocess")


def run_mode_mentions(path: Path) -> list[str]:
    """Code (not docstrings or comments) of ``path`` naming the run mode: attribute or name."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in RUN_MODE_NAMES:
            name = node.value
        elif isinstance(node, ast.ImportFrom) and node.module:
            name = next((n for n in RUN_MODE_NAMES if n in node.module.split(".")), None)
        if name in RUN_MODE_NAMES:
            found.append(f"{name}:{node.lineno}")
    return found


def test_domain_code_never_branches_on_the_run_mode():
    offenders = {}
    for app in ("streams", "transcription", "meetings"):
        for path in python_files(app):
            if "migrations" in path.parts:
                continue
            found = run_mode_mentions(path)
            if found:
                offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


def test_the_run_mode_check_catches_a_branch(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""CELERY_TASKS_IN_PROCESS in a docstring is fine."""\n'
        "from django.conf import settings\n"
        "if getattr(settings, 'CELERY_TASKS_IN_PROCESS', False):\n    pass\n"
    )
    assert run_mode_mentions(sample) == ["CELERY_TASKS_IN_PROCESS:3"]


# --- services write, selectors read (issue 19) -------------------------------------------------

ORM_WRITES = {"create", "get_or_create", "update_or_create", "bulk_create", "bulk_update", "update", "delete"}


def meetings_model_writes(path: Path) -> list[str]:
    """``Model.objects….<write>(…)`` calls on a model imported from ``meetings.models``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    models = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "meetings.models"
        for alias in node.names
    }
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in ORM_WRITES:
            continue
        chain, base = [], node.func.value
        while isinstance(base, (ast.Attribute, ast.Call)):
            if isinstance(base, ast.Attribute):
                chain.append(base.attr)
                base = base.value
            else:
                base = base.func
        if isinstance(base, ast.Name) and base.id in models and "objects" in chain:
            found.append(f"{base.id}.objects….{node.func.attr} (line {node.lineno})")
    return found


def test_ingestion_and_transcription_write_meeting_rows_only_through_meetings_services():
    offenders = {
        str(path.relative_to(ROOT)): writes
        for folder in ("streams", "transcription")
        for path in python_files(folder)
        if "migrations" not in path.parts and (writes := meetings_model_writes(path))
    }
    assert offenders == {}


def test_the_write_check_catches_a_direct_write(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from meetings.models import AudioRecording, Meeting\n"
        "AudioRecording.objects.get_or_create(path='x')\n"
        "Meeting.objects.filter(pk=1).update(topic='t')\n"
        "Meeting.objects.filter(pk=1).first()\n"
    )
    assert meetings_model_writes(sample) == [
        "AudioRecording.objects….get_or_create (line 2)",
        "Meeting.objects….update (line 3)",
    ]


def test_the_services_and_selectors_packages_re_export_nothing():
    for package in ("meetings/services", "meetings/selectors"):
        tree = ast.parse((ROOT / package / "__init__.py").read_text())
        assert [type(node).__name__ for node in tree.body if not isinstance(node, ast.Expr)] == [], package


# --- no import cycles (issue 19, item 2) ---------------------------------------------------------
# Every import counts, in-function ones too (a cycle broken only by a late import is still a
# cycle in the design), except those under ``if TYPE_CHECKING:`` (never run).
OUR_PACKAGES = [*PRODUCT_LAYERS, "rtms_assistant", "rtms_emulator", "demo", "bench"]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_edges(path: Path, root: Path, modules: set[str]) -> set[str]:
    """Our modules ``path`` imports: ``from pkg import mod`` is an arrow to the submodule when
    there is one, else to ``pkg`` (a name it defines); a relative import is resolved against
    ``path``'s package. Loading a parent package first is Python's, not an arrow."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):  # if TYPE_CHECKING: ... never runs
        test = node.test if isinstance(node, ast.If) else None
        if test is not None and "TYPE_CHECKING" in ast.unparse(test):
            skip.update(id(inner) for child in node.body for inner in ast.walk(child))
    me = module_name(path, root)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:  # the submodule if there is one, else a name defined in base
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {t for t in targets if t in modules and t != me}


def import_cycle(root: Path, packages: list[str]) -> list[str]:
    """One import cycle among ``packages`` under ``root`` (module names, first = last), or []."""
    from graphlib import CycleError, TopologicalSorter

    files = {
        module_name(path, root): path
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
        if "migrations" not in path.parts
    }
    graph = {name: import_edges(path, root, set(files)) for name, path in files.items()}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        return list(error.args[1])
    return []


def test_no_import_cycles_in_the_product_or_its_tools():
    assert import_cycle(ROOT, OUR_PACKAGES) == []


def test_the_cycle_check_finds_a_cycle_through_a_late_import_but_not_a_type_only_one(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from . import c\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import x\n"
    )
    assert import_cycle(tmp_path, ["pkg"]) == []
    (pkg / "c.py").write_text("import pkg.a\n")
    assert sorted(set(import_cycle(tmp_path, ["pkg"]))) == ["pkg.a", "pkg.b", "pkg.c"]

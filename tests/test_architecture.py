"""The layout rules of docs/architecture.md, enforced: data flows one way through the packages."""
import ast
import os
import subprocess
import sys

import pytest

from conftest import ROOT

PACKAGE = os.path.join(ROOT, "sr4rs")
# Lower ranks never import higher ones; packages of the same rank never import each other.
RANKS = {"errors": 0, "progress": 0.5, "geo": 1, "io": 2, "nets": 3, "data": 4, "model": 4,
         "training": 5, "inference": 5, "evaluation": 6, "api": 7, "scenes": 7.5, "cli": 8, "integrations": 8,
         "__init__": 9, "__main__": 9, "xarray": 9}
# What the command line and the integrations may import of sr4rs: the public API only (sr4rs.scenes: the steps a
# scheduler runs, built on sr4rs.api).
FRONT_ENDS = {"cli", "integrations"}
PUBLIC = {"sr4rs", "sr4rs.api", "sr4rs.scenes", "sr4rs.errors", "sr4rs.progress"}


def _modules():
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                yield rel[:-9] if rel.endswith(".__init__") else rel, path


def _imports(module, path):
    """Absolute names of everything ``module`` imports (at any depth of the file)."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    is_package = path.endswith("__init__.py")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")
                base = parts[:len(parts) - node.level + (1 if is_package else 0)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module
            yield prefix
            for alias in node.names:  # "from . import api" imports sr4rs.api
                yield f"{prefix}.{alias.name}"


def _package(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _existing(name):
    path = os.path.join(ROOT, *name.split("."))
    return os.path.isdir(path) or os.path.exists(path + ".py")


ALL = list(_modules())


@pytest.mark.parametrize("module,path", ALL, ids=[m for m, _ in ALL])
def test_layer_rules(module, path):
    own = _package(module)
    for name in set(_imports(module, path)):
        top = name.split(".")[0]
        if top == "osgeo":
            assert own == "io", f"{module} imports GDAL ({name}): only sr4rs.io may"
        if top in ("tensorflow", "keras", "osgeo"):
            assert own != "geo", f"{module} imports {name}: sr4rs.geo is pure (numpy, scipy)"
        if top != "sr4rs" or not _existing(name):
            continue
        target = _package(name)
        if own in FRONT_ENDS:
            # the command line may also run an integration (sr4rs apply-many on Dask), itself public-API only
            allowed = name in PUBLIC or name.startswith(f"sr4rs.{own}") or \
                (own == "cli" and name.startswith("sr4rs.integrations"))
            assert allowed, \
                f"{module} imports {name}: the {own} package may import only the public API ({', '.join(PUBLIC)})"
            continue
        if target == own or name == "sr4rs":
            continue
        assert RANKS[target] < RANKS[own], f"{module} ({own}) imports {name} ({target}): data flows the other way"


def test_inference_never_imports_training_or_evaluation():
    for module, path in ALL:
        if _package(module) == "inference":
            bad = [n for n in _imports(module, path) if n.startswith(("sr4rs.training", "sr4rs.evaluation"))]
            assert not bad, f"{module} imports {bad}"


def test_functions_are_short():
    long = []
    for module, path in ALL:
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                long.append(f"{module}.{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert not long, "functions over 60 lines: " + ", ".join(long)


def test_the_public_api_imports_without_tensorflow():
    """The command line parses and checks its inputs in a fraction of a second: TensorFlow is imported
    only when a model is loaded or trained."""
    code = ("import sys, sr4rs.api, sr4rs.cli.main as m; m.build_parser(); "
            "print(sorted(k for k in ('tensorflow', 'keras') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"

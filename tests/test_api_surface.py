"""``sr4rs.api`` is a face: every name of its ``__all__`` exists and is used by the command line, an integration,
``sr4rs.scenes``, the top-level package or the documentation; what they use of it is in ``__all__``; and api.py
defines nothing that only one integration uses (that lives beside it, as the scene and block steps of
apply-many and Dask live in ``sr4rs.scenes``). ``sr4rs.scenes.__all__`` is held to the same rules."""
import ast
import functools
import glob
import os
import re

import pytest

from conftest import ROOT

import sr4rs.api as api
import sr4rs.scenes as scenes

PUBLIC = {"api": api, "scenes": scenes}


def _rel(path):
    return os.path.relpath(path, ROOT).replace(os.sep, "/")


def _read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def _code():
    """The modules that use the public API: the command line, the integrations, and the public modules above the
    api (``sr4rs.scenes``, ``sr4rs.xarray``, the package's top level)."""
    found = glob.glob(os.path.join(ROOT, "sr4rs", "cli", "**", "*.py"), recursive=True)
    found += glob.glob(os.path.join(ROOT, "sr4rs", "integrations", "**", "*.py"), recursive=True)
    found += [os.path.join(ROOT, "sr4rs", name) for name in ("scenes.py", "xarray.py", "__init__.py")]
    return sorted(_rel(p) for p in found)


DOCS = ["README.md"] + sorted(_rel(p) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
USERS = {rel: _read(rel) for rel in _code() + DOCS}


def _group(rel):
    """Who a file speaks for: the command line, one integration (a module or a package of integrations/), a
    public module above the api, or the documentation."""
    parts = rel.split("/")
    if rel in DOCS:
        return "docs"
    if parts[1] == "cli":
        return "cli"
    if parts[1] == "integrations":
        return "integrations/" + parts[2].rsplit(".", 1)[0]
    return parts[1].rsplit(".", 1)[0]


def _mentions(name, text):
    return re.search(rf"\b{re.escape(name)}\b", text) is not None


@functools.lru_cache(maxsize=None)
def _used_names(rel):
    """(module, name) for every ``api.X``, ``scenes.X`` and ``from ...api import X`` of a file."""
    return tuple(_names_in(ast.parse(USERS[rel])))


def _names_in(tree):
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = (node.module or "").split(".")[-1]
            if node.module in ("sr4rs.api", "sr4rs.scenes") or (node.level and node.module in PUBLIC):
                yield from ((module, alias.name) for alias in node.names)
            elif node.module == "sr4rs" or (node.level and node.module is None):  # from .. import api
                aliases.update({alias.asname or alias.name: alias.name for alias in node.names
                                if alias.name in PUBLIC})
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            yield aliases[node.value.id], node.attr


def _uses(rel, name):
    """Whether a file uses ``name``: its text names it (front ends import the public modules only). sr4rs.scenes
    also imports lower layers, so there only what it takes from the api counts."""
    if rel == "sr4rs/scenes.py":
        return ("api", name) in set(_used_names(rel))
    return _mentions(name, USERS[rel])


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_every_public_name_exists_once(module):
    names = PUBLIC[module].__all__
    missing = [n for n in names if not hasattr(PUBLIC[module], n)]
    assert not missing, f"sr4rs.{module}.__all__ names what the module lacks: {', '.join(missing)}"
    twice = sorted({n for n in names if names.count(n) > 1})
    assert not twice, f"sr4rs.{module}.__all__ names these twice: {', '.join(twice)}"


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_every_public_name_is_used(module):
    own = f"sr4rs/{module}.py"
    unused = [n for n in PUBLIC[module].__all__
              if not any(_uses(rel, n) for rel in USERS if rel != own)]
    assert not unused, (f"sr4rs.{module}.__all__ lists names that neither the command line, the integrations, "
                        f"the public modules nor the documentation use: {', '.join(unused)}; drop them from "
                        "__all__, or document them in README.md or docs/")


@pytest.mark.parametrize("rel", [rel for rel in _code() if rel != "sr4rs/__init__.py"])
def test_front_ends_use_only_public_names(rel):
    outside = sorted({f"{m}.{n}" for m, n in _used_names(rel) if n not in PUBLIC[m].__all__})
    assert not outside, f"{rel} uses {', '.join(outside)}, which the public face does not list: add to __all__"


def _definitions(tree):
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            yield node.name
        elif isinstance(node, ast.Assign):
            yield from (t.id for t in node.targets if isinstance(t, ast.Name) and t.id != "__all__")


def test_api_defines_nothing_that_only_one_integration_uses():
    tree = ast.parse(_read("sr4rs/api.py"))
    inside = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}  # part of api.py's own work
    lone = []
    for name in _definitions(tree):
        if name.startswith("_") or name in inside:
            continue
        groups = {_group(rel) for rel in USERS if _uses(rel, name)}
        if len(groups) == 1 and next(iter(groups)).startswith("integrations/"):
            lone.append(f"{name} ({groups.pop()})")
    assert not lone, ("api.py defines names that only one integration uses, which belong beside it: "
                      + ", ".join(lone))


def test_the_scene_steps_live_in_scenes_not_in_api():
    both = sorted((set(scenes.__all__) | {"scene_output"}) & set(dir(api)))
    assert not both, f"sr4rs.api defines or re-exports {', '.join(both)}, steps of sr4rs.scenes: import them from there"


def test_api_binds_each_name_once():
    """A second import of a name replaces the first without a word (api.py once took training's PRECISIONS for
    apply's --precision)."""
    bound = []
    for node in ast.parse(_read("sr4rs/api.py")).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound += [(alias.asname or alias.name).split(".")[0] for alias in node.names]
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.append(node.name)
    twice = sorted({n for n in bound if bound.count(n) > 1} - {"annotations"})
    assert not twice, f"api.py binds {', '.join(twice)} more than once: import one of them under another name"


def test_the_top_level_offers_part_of_the_api():
    import sr4rs

    outside = sorted(set(sr4rs._API) - set(api.__all__))
    assert not outside, f"sr4rs offers {', '.join(outside)} from sr4rs.api, whose __all__ does not list them"

"""Run the documentation's commands as written: every ```bash block of README.md, PRETRAINED_MODELS.md and
docs/*.md, in order, one scratch folder per file, on the repository's real files.

The scratch folder links the repository's top-level entries (``tests/testdata/...``, ``examples/...``,
``train.py`` resolve as in a clone) and holds everything the commands write; ``FIXTURES`` makes the few files the
docs name as a user's own (``B04.tif``, products...) from the real crops. ``sr4rs`` and ``python`` are those of the
environment running this (``.venv`` too, where the checkout has none), with this repository first on the Python
path.

A block is skipped when the line directly above its opening fence is ``<!-- docs: skip (REASON) -->`` (GPUs,
cloud storage, Docker, a remote service); a reason is required. Each block runs with ``bash -e -o pipefail``: the
first command that fails fails the block, and the report names it.

``python tests/docs/doc_runner.py [FILE...]`` runs them and prints the report; ``tests/docs/test_docs.py`` runs them in
the test suite.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP = re.compile(r"^<!--\s*docs:\s*skip\s*\((.+)\)\s*-->\s*$")
FENCE = re.compile(r"^```(\w*)\s*$")
TIMEOUT = 600  # seconds a block may take
RESULTS: list = []  # every block run in this process (the test suite prints their report)
# Top-level entries never linked into the scratch folder (besides what git does not track there).
NOT_LINKED = {".git", ".ci", ".gitignore"}


def docs() -> List[str]:
    """The documentation files whose blocks run, relative to the repository."""
    folder = os.path.join(ROOT, "docs")
    return ["README.md", "PRETRAINED_MODELS.md"] + sorted(
        os.path.join("docs", f) for f in os.listdir(folder) if f.endswith(".md"))


@dataclass
class Block:
    file: str
    line: int  # of the opening fence, from 1
    code: str
    skip: Optional[str] = None  # the reason, when skipped
    status: str = "not run"  # passed, failed, skipped
    seconds: float = 0.0
    output: str = ""
    failed_command: str = ""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def blocks(path: str) -> List[Block]:
    """The ```bash blocks of a Markdown file, with their skip reasons; a skip marker without a reason, or one
    that is not followed by a fence, is an error (so that a marker is never silently ignored)."""
    lines = open(os.path.join(ROOT, path), encoding="utf-8").read().splitlines()
    found, i = [], 0
    while i < len(lines):
        marker = SKIP.match(lines[i].strip())
        if lines[i].strip().startswith("<!-- docs:") and marker is None:
            raise ValueError(f"{path}:{i + 1}: write the marker as <!-- docs: skip (REASON) -->")
        if marker and not (i + 1 < len(lines) and FENCE.match(lines[i + 1])):
            raise ValueError(f"{path}:{i + 1}: a skip marker must be directly above a code fence")
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            raise ValueError(f"{path}:{i + 1}: a code block is not closed")
        if fence.group(1) == "bash":
            above = SKIP.match(lines[i - 1].strip()) if i else None
            found.append(Block(path, i + 1, "\n".join(lines[i + 1:end]) + "\n", above.group(1) if above else None))
        i = end + 1
    return found


# --- the files the docs name as a user's own, made from the real crops -------------------------------------------

def _bands(source: str, bands: List[int]) -> Callable[[str], None]:
    def make(target: str) -> None:
        args = [a for b in bands for a in ("-b", str(b))]
        subprocess.run(["gdal_translate", "-q", *args, os.path.join(ROOT, source), target], check=True)
    return make


def _training_polygons(target: str, size: int = 5, step: int = 9) -> None:
    """Squares of ``size`` pixels over the 10 m crop's darkest (class 1: water) and brightest (class 2) homogeneous
    places, as a user draws training polygons."""
    from osgeo import gdal, ogr, osr

    src = gdal.Open(os.path.join(ROOT, S2_10M))
    gt, light = src.GetGeoTransform(), src.ReadAsArray()[:3].astype(float).mean(axis=0)
    cells = sorted((light[r:r + size, c:c + size].mean(), r, c) for r in range(0, light.shape[0] - size, step)
                   for c in range(0, light.shape[1] - size, step)
                   if light[r:r + size, c:c + size].std() < 0.15 * light[r:r + size, c:c + size].mean())
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(target)
    layer = ds.CreateLayer("train", osr.SpatialReference(wkt=src.GetProjection()), ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("class", ogr.OFTInteger))
    for label, (_, r, c) in [(1, cell) for cell in cells[:6]] + [(2, cell) for cell in cells[-6:]]:
        x0, y0 = gt[0] + c * gt[1], gt[3] + r * gt[5]
        x1, y1 = x0 + size * gt[1], y0 + size * gt[5]
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("class", label)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"))
        layer.CreateFeature(feature)
    ds = None


def _product(kind: str, **kw) -> Callable[[str], None]:
    """A small product laid out as ESA's or USGS's, made from the crops (tests/products.py)."""
    def make(target: str) -> None:
        sys.path.insert(0, os.path.join(ROOT, "tests"))
        import products

        made = getattr(products, kind)(os.path.dirname(target), **kw)
        assert os.path.basename(made) == os.path.basename(target), (made, target)
    return make


S2_10M = "tests/testdata/s2_10m_crop.tif"  # B2 B3 B4 B8, 127 x 99 pixels
FIXTURES: Dict[str, Callable[[str], None]] = {
    # docs/sensors.md, PRETRAINED_MODELS.md: products as downloaded
    "S2A_MSIL2A_20160112T155622_N0400_R054_T18SVG_20160112T155617.zip":
        _product("make_sentinel2", level="L2A", baseline="04.00", as_zip=True),
    "S2A_MSIL2A_20160112T155622_N0510_R054_T18SVG_20160112T155617.SAFE":
        _product("make_sentinel2", level="L2A", baseline="05.10"),
    "S2A_MSIL1C_20160112T155622_N0201_R054_T18SVG_20160112T155617.SAFE":
        _product("make_sentinel2", level="L1C", baseline="02.01"),
    "LC08_L1TP_224078_20200518_20200527_02_T1": _product("make_landsat"),
    # docs/otb.md: a Sentinel-2 product's 10 m band files, and training polygons drawn over them
    "B04.tif": _bands(S2_10M, [3]),
    "B03.tif": _bands(S2_10M, [2]),
    "B02.tif": _bands(S2_10M, [1]),
    "B08.tif": _bands(S2_10M, [4]),
    "train.gpkg": _training_polygons,
}
# Programs a block may need beyond sr4rs and GDAL: installed by the test command (scripts/setup_integrations.sh);
# where one is missing, its blocks are skipped (in CI, with CI set, they fail).
PROGRAMS = ("otbcli_[A-Za-z]+", "qgis_process(?:\\.bin)?")


def _top_level() -> List[str]:
    """The repository's own top-level entries (what a clone holds; not what earlier runs built there)."""
    try:
        tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        names = {line.split("/")[0] for line in tracked.splitlines() if line}
    except (OSError, subprocess.CalledProcessError):
        names = set(os.listdir(ROOT))
    return sorted(n for n in names if n not in NOT_LINKED and os.path.exists(os.path.join(ROOT, n)))


def scratch(folder: str, code: str = "") -> str:
    """``folder`` made ready: the repository's top-level entries linked, and the fixtures ``code`` names."""
    os.makedirs(folder, exist_ok=True)
    for name in _top_level():
        target = os.path.join(folder, name)
        if not os.path.lexists(target):
            os.symlink(os.path.join(ROOT, name), target)
    if not os.path.lexists(os.path.join(folder, ".venv")):  # a checkout without its own: the one running this
        os.symlink(sys.prefix, os.path.join(folder, ".venv"))
    for name, make in FIXTURES.items():
        if re.search(rf"(?<![\w/.-]){re.escape(name)}(?![\w-])", code) and not os.path.exists(
                os.path.join(folder, name)):
            make(os.path.join(folder, name))
    return folder


def _shims(folder: str) -> str:
    """``python`` and ``sr4rs`` of this environment, alone in a folder put first on PATH (not the environment's
    whole bin folder: its python3 would be taken by programs embedding the system's Python, such as QGIS)."""
    shims = os.path.join(folder, ".docs-bin")
    os.makedirs(shims, exist_ok=True)
    for name, line in (("python", f'exec "{sys.executable}" "$@"'), ("sr4rs", f'exec "{sys.executable}" -m sr4rs "$@"')):
        path = os.path.join(shims, name)
        with open(path, "w") as f:
            f.write(f"#!/bin/sh\n{line}\n")
        os.chmod(path, 0o755)
    return shims


def environment(folder: str) -> Dict[str, str]:
    """The commands' environment: this environment's ``python`` and ``sr4rs`` first on PATH, this repository first
    on the Python path, and QGIS's profile in the scratch folder (the machine's own is left alone)."""
    env = dict(os.environ)
    env["QGIS_CUSTOM_CONFIG_PATH"] = os.path.join(folder, ".qgis-profile")
    runtime = os.path.join(folder, ".runtime")
    os.makedirs(runtime, mode=0o700, exist_ok=True)
    env["XDG_RUNTIME_DIR"] = runtime
    env["PATH"] = _shims(folder) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.pop("SR4RS_VERBOSE", None)
    return env


_TRAP = 'trap \'echo "docs: this command failed (exit $?): $BASH_COMMAND" >&2\' ERR\n'


def _missing_program(code: str, env: Dict[str, str]) -> Optional[str]:
    import shutil

    for pattern in PROGRAMS:
        for name in sorted(set(re.findall(rf"(?<![\w/.-])({pattern})(?![\w-])", code))):
            if shutil.which(name, path=env.get("PATH")) is None:
                return name
    return None


def run_block(block: Block, folder: str, env: Dict[str, str]) -> Block:
    missing = None if block.skip else _missing_program(block.code, env)
    if missing and not os.environ.get("CI"):
        block.skip = f"{missing} is not installed here: bash scripts/setup_integrations.sh installs it"
    if block.skip:
        block.status = "skipped"
        return block
    start = time.perf_counter()
    try:
        proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", _TRAP + block.code], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT)
        code, out = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as err:
        code, out = -1, f"(stopped after {TIMEOUT} s) " + str(err.stdout or "") + str(err.stderr or "")
    block.seconds = time.perf_counter() - start
    block.output = out
    block.status = "passed" if code == 0 else "failed"
    if code:
        found = re.findall(r"docs: this command failed \(exit \d+\): (.*)", out)
        block.failed_command = found[-1] if found else block.code.strip().splitlines()[0]
    return block


GUARDED = ("examples", "tests/testdata")  # the data the docs read through the scratch folder's links


def _files(folders=GUARDED) -> Dict[str, tuple]:
    found = {}
    for top in folders:
        for dirpath, _, names in os.walk(os.path.join(ROOT, top)):
            for name in names:
                path = os.path.join(dirpath, name)
                stat = os.stat(path)
                found[os.path.relpath(path, ROOT)] = (stat.st_size, stat.st_mtime_ns)
    return found


def _check_untouched(block: Block, before: Dict[str, tuple]) -> None:
    """A block that wrote into the repository's data (a side file beside an input, a changed input) fails; the files
    it added are removed."""
    after = _files()
    added = sorted(set(after) - set(before))
    changed = sorted(p for p in before if p in after and after[p] != before[p])
    for path in added:
        os.remove(os.path.join(ROOT, path))
    if added or changed:
        block.status = "failed"
        block.failed_command = f"wrote into the repository: {', '.join(added + changed)} (write into the scratch " \
                               "folder: copy an input there first)"


def run_file(path: str, folder: str) -> List[Block]:
    """Every block of ``path`` in order in ``folder``; after a failure, the rest are not run (they may need it)."""
    found = blocks(path)
    scratch(folder, "".join(b.code for b in found if not b.skip))
    env = environment(folder)
    for block in found:
        before = _files()
        run_block(block, folder, env)
        if block.status != "skipped":
            _check_untouched(block, before)
        if block.status == "failed":
            break
    return found


def report(results: List[Block]) -> str:
    """Blocks run, passed, failed and skipped (with their reasons), one line each, and a total."""
    lines = []
    for b in results:
        if b.status == "skipped":
            lines.append(f"  {b.where:<32} skipped ({b.skip})")
        elif b.status == "not run":
            lines.append(f"  {b.where:<32} not run (an earlier block of the file failed)")
        else:
            lines.append(f"  {b.where:<32} {b.status} in {b.seconds:.1f} s")
            if b.status == "failed":
                lines.append(f"      failed command: {b.failed_command}")
                lines += [f"      | {line}" for line in b.output.strip().splitlines()[-12:]]
    ran = [b for b in results if b.status in ("passed", "failed")]
    count = {s: sum(b.status == s for b in results) for s in ("passed", "failed", "skipped", "not run")}
    total = sum(b.seconds for b in results)
    lines.append(f"docs: {len(results)} bash blocks in {len({b.file for b in results})} files: {len(ran)} run, "
                 f"{count['passed']} passed, {count['failed']} failed, {count['skipped']} skipped, "
                 f"{count['not run']} not run, in {total:.0f} s")
    return "\n".join(lines)


def main(argv=None) -> int:
    import tempfile

    files = list(argv if argv is not None else sys.argv[1:]) or docs()
    results = []
    with tempfile.TemporaryDirectory(prefix="sr4rs-docs-") as tmp:
        for path in files:
            results += run_file(path, os.path.join(tmp, re.sub(r"\W", "_", path)))
    print(report(results))
    return 1 if any(b.status == "failed" for b in results) else 0


if __name__ == "__main__":
    sys.exit(main())

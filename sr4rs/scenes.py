"""The steps a scheduler runs over many scenes, and over scenes cut into blocks of whole batches: what
``sr4rs apply-many`` and ``sr4rs.integrations.dask_apply`` call, and what another scheduler would call.

Public like ``sr4rs.api``, and one layer above it: each scene is chosen a model, resolved and checked exactly
as ``api.apply`` does it (``choose_model``, ``open_inputs``, ``check_apply``, ``write_output_item``), which
``inference/`` could not import without data flowing back up.
"""
from __future__ import annotations

import glob
import os
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from .api import check_apply, choose_model, open_inputs, write_output_item
from .errors import InputError, OutputError
from .inference.blocks import copy_blocks, fingerprint, plan_blocks
from .inference.engine import ApplyReport, output_spec, run_apply, runtime_label
from .inference.plan import ApplyOptions, ApplyPlan, plan_apply
from .io.files import check_creatable_folder, remove_quietly, staged_leftovers
from .io.geotiff import GeoTiffSink
from .io.paths import Read, Target, apply_output, check_targets, inside, raster_with_metadata, same_file
from .io.rasters import GdalSource, read_info
from .model.contract import read_metadata
from .model.load import LoadedModel, check_model_dir
from .progress import CancelToken, Progress, Work

__all__ = ["SceneCheck", "ScenePlan", "apply_block", "assemble_blocks", "check_scenes", "expand_scenes",
           "finished_output", "plan_scene", "remove_leftovers", "scene_name"]

_SCENE_SUFFIXES = (".zip", ".tar", ".gz", ".safe", ".tif", ".tiff", ".vrt", ".jp2", ".img", ".json", ".geojson")


def scene_name(scene: str) -> str:
    """A scene's name: its file or folder name without the suffixes of rasters and products (.tif, .SAFE, .zip);
    an item of an ItemCollection (``search.json#ID``): its ID."""
    if "#" in scene and not os.path.exists(scene):
        return scene.rsplit("#", 1)[1]
    name = os.path.basename(os.path.normpath(scene.split("?", 1)[0]))
    root, ext = os.path.splitext(name)
    while ext.lower() in _SCENE_SUFFIXES and root:
        name = root
        root, ext = os.path.splitext(name)
    return name


def scene_output(scene: str, output_dir: str, scale: int) -> str:
    """Where ``sr4rs apply-many`` writes a scene: ``DIR/<scene name>_x<factor>.tif``."""
    return os.path.join(output_dir, f"{scene_name(scene)}_x{scale}.tif")


def expand_scenes(patterns: Sequence[str]) -> List[str]:
    """Scenes, products and glob patterns (``'/data/S2*.SAFE'``) as a list of paths, in the order given."""
    scenes: List[str] = []
    for pattern in patterns:
        if glob.has_magic(pattern) and not os.path.exists(pattern):
            found = sorted(glob.glob(pattern))
            if not found:
                raise InputError(f"no scene matches '{pattern}': check the pattern (quote it so that sr4rs expands it)")
            scenes.extend(s for f in found for s in _items_of(f))
        else:
            scenes.extend(_items_of(pattern))
    if not scenes:
        raise InputError("no scene given: pass scenes, products or a glob pattern")
    return scenes


def _items_of(scene: str) -> List[str]:
    """An ItemCollection or a folder of STAC items: each item; anything else: itself."""
    from .io.stac import expand

    found = expand(scene)
    return found if found is not None else [scene]


def _without_own_outputs(scenes: Sequence[str], output_dir: str, factor: int) -> List[str]:
    """The scenes, less those that are this job's outputs of other scenes (an earlier run wrote them beside the
    scenes, and a pattern, or the shell, found them too): running the same command again resumes the job."""
    outputs = {os.path.realpath(scene_output(s, output_dir, factor)) for s in scenes}
    return [s for s in scenes if not (os.path.realpath(s) in outputs and apply_output(s) is not None)]


@dataclass(frozen=True)
class SceneCheck:
    """One scene of a job, checked before any work: its output, and whether an earlier run finished it."""

    scene: str
    output: str
    finished: bool
    work: int  # progress units: pixels of its finest input
    notes: Tuple[str, ...] = ()  # how its bands were put in the model's order


def finished_output(output: str, model_name: str, scale: int, width: int, height: int) -> bool:
    """Whether ``output`` is a whole apply output of the model ``model_name`` at ``scale`` and of that size (a file
    sr4rs wrote is renamed into place once complete, so it is finished or absent)."""
    found = apply_output(output)
    return found is not None and (found.get("SR4RS_MODEL"), found.get("SR4RS_SCALE"), found["width"],
                                  found["height"]) == (model_name, str(scale), width, height)


def check_scenes(scenes: Sequence[str], output_dir: str, model: Optional[str] = None,
                 options: ApplyOptions = ApplyOptions(), bands: Optional[Sequence[str]] = None,
                 sensor: Optional[str] = None, scale: Optional[int] = None) -> Tuple[str, List[SceneCheck]]:
    """The model's folder and every scene checked as ``apply`` checks one (readable, bands, outputs safe),
    without TensorFlow; an output an earlier run finished with this model is marked ``finished`` (skipped,
    unless ``options.overwrite``). Makes ``output_dir`` if needed, once everything else is checked."""
    scenes = expand_scenes(scenes)
    model_path = choose_model([scenes[0]], model, bands, sensor)[0]
    check_model_dir(model_path)
    metadata = read_metadata(model_path)
    factor = metadata.scale if metadata is not None else (scale or 4)
    scenes = _without_own_outputs(scenes, output_dir, factor)
    outputs = _scene_outputs(scenes, output_dir, factor)
    reads = [Read(s, "scene") for s in scenes] + [Read(model_path, "--savedmodel")] * os.path.isdir(model_path)
    # before anything is made: --output-dir is not (in) a scene or the model, no output is (in) a scene, and
    # nothing but an earlier output of apply is where an output goes
    for read in reads:
        if same_file(output_dir, read.path) or inside(output_dir, read.path):
            how = "is" if same_file(output_dir, read.path) else "is inside"
            raise OutputError(f"--output-dir '{output_dir}' {how} {read.flag} '{read.path}', which this command reads: "
                              "sr4rs never writes over its inputs; choose another --output-dir")
    check_targets([Target(o, "--output-dir", "output of sr4rs apply", raster_with_metadata("SR4RS_SCALE"))
                   for o in outputs], reads, overwrite=True)
    check_creatable_folder(output_dir, "--output-dir")
    made = not os.path.isdir(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    try:
        checks = [_check_scene(s, o, model_path, metadata, factor, options, bands, sensor)
                  for s, o in zip(scenes, outputs)]
    except BaseException:
        if made:
            os.rmdir(output_dir)
        raise
    return model_path, checks


def _scene_outputs(scenes: Sequence[str], output_dir: str, factor: int) -> List[str]:
    """Each scene's output, none written twice."""
    outputs = [scene_output(s, output_dir, factor) for s in scenes]
    seen: dict = {}
    for scene, output in zip(scenes, outputs):
        if output in seen:
            raise InputError(f"scenes '{seen[output]}' and '{scene}' would both be written to '{output}': "
                             "give scenes of different names (or run them into different --output-dir)")
        seen[output] = scene
    return outputs


def _check_scene(scene, output, model_path, metadata, factor, options, bands, sensor) -> SceneCheck:
    name = os.path.basename(os.path.normpath(model_path))
    fine = read_info(open_inputs(scene, bands, sensor, metadata, name)[0])
    # the output's grid: the finest input's, ``fine_factor`` times finer (1 for a fusion model)
    finer = metadata.fine_factor if metadata is not None else factor
    if not options.overwrite and finished_output(output, name, factor, fine.width * finer, fine.height * finer):
        return SceneCheck(scene, output, True, fine.width * fine.height)
    checked = check_apply(scene, output, model_path, options, bands=bands, sensor=sensor)
    return SceneCheck(scene, output, False, fine.width * fine.height, checked.notes)


@dataclass(frozen=True)
class ScenePlan:
    """A scene's run as a scheduler sees it: one block (the whole scene, written by ``apply``) or several
    (each written by ``apply_block``, then put together by ``assemble_blocks``); each block's work in
    progress units."""

    scene: str
    output: str
    block_work: Tuple[int, ...]
    tiles: int
    width: int  # of the output
    height: int


def _scene_plan(scene, model: LoadedModel, options, bands, sensor, block_tiles):
    paths = open_inputs(scene, bands, sensor, model.metadata, model.name)
    infos = [read_info(p) for p in paths]
    plan = plan_apply(infos, model, options)
    return paths, infos, plan, plan_blocks(plan, block_tiles)


def _block_files(output: str, plan: ApplyPlan, blocks, model: LoadedModel) -> List[str]:
    """Block files live in a hidden folder beside the output, named after what they hold, and go once it is made."""
    folder = os.path.join(os.path.dirname(os.path.abspath(output)),
                          f".{os.path.basename(output)}.blocks-{fingerprint(plan, blocks, model.name, runtime_label(model))}")
    return [os.path.join(folder, f"block-{b.index:05d}-of-{len(blocks):05d}.tif") for b in blocks]


def _whole_block(path: str, block) -> bool:
    found = apply_output(path)
    return found is not None and (found["width"], found["height"]) == (block.window.width, block.window.height)


def plan_scene(scene: str, output: str, model: LoadedModel, options: ApplyOptions = ApplyOptions(),
               bands: Optional[Sequence[str]] = None, sensor: Optional[str] = None,
               block_tiles: Optional[int] = None) -> ScenePlan:
    """How ``scene`` is cut: blocks of about ``block_tiles`` tiles (whole batches of its plan), or one."""
    _, _, plan, blocks = _scene_plan(scene, model, options, bands, sensor, block_tiles)
    return ScenePlan(scene, output, tuple(b.work for b in blocks), len(plan.tiles()), plan.out_width, plan.out_height)


def apply_block(scene: str, output: str, model: LoadedModel, index: int, options: ApplyOptions = ApplyOptions(),
                bands: Optional[Sequence[str]] = None, sensor: Optional[str] = None,
                block_tiles: Optional[int] = None, progress: Optional[Progress] = None,
                cancel: Optional[CancelToken] = None) -> str:
    """Compute block ``index`` of ``scene`` (as ``plan_scene`` cut it) into its file, written whole or not at
    all; a block file an earlier attempt finished is kept. Returns the block file."""
    paths, _, plan, blocks = _scene_plan(scene, model, options, bands, sensor, block_tiles)
    block, target = blocks[index], _block_files(output, plan, blocks, model)[index]
    if _whole_block(target, block):
        return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    sources = [GdalSource(p) for p in paths]
    try:
        run_apply(sources, model, lambda spec: GeoTiffSink(target, spec, overwrite=True), options,
                  progress=progress, cancel=cancel, plan=plan, block=block)
    finally:
        for source in sources:
            source.close()
    return target


def assemble_blocks(scene: str, output: str, model: LoadedModel, options: ApplyOptions = ApplyOptions(),
                    bands: Optional[Sequence[str]] = None, sensor: Optional[str] = None,
                    block_tiles: Optional[int] = None, cancel: Optional[CancelToken] = None) -> ApplyReport:
    """The output of ``scene`` made from its block files (all computed), pixel for pixel what ``apply`` writes,
    then the block files removed."""
    start = time.perf_counter()
    _, infos, plan, blocks = _scene_plan(scene, model, options, bands, sensor, block_tiles)
    files = _block_files(output, plan, blocks, model)
    missing = [f for f, b in zip(files, blocks) if not _whole_block(f, b)]
    if missing:
        raise OutputError(f"{len(missing)} block file(s) of '{scene}' are missing (first: '{missing[0]}'): "
                          "run the job again, it computes only what is missing")
    sources = [GdalSource(f) for f in files]
    try:
        spec = output_spec(infos, model, plan, sources[0].info.count)
        sink = GeoTiffSink(output, spec, options.creation_options, cog=options.cog, overwrite=options.overwrite)
        try:
            copy_blocks(plan, blocks, sources, sink, Work(None, cancel))
            sink.commit()
        except BaseException:
            sink.abort()
            raise
    finally:
        for source in sources:
            source.close()
    remove_quietly(os.path.dirname(files[0]))
    write_output_item(output, model, scene, options)
    return ApplyReport(output, plan.out_width, plan.out_height, plan.scale, len(plan.tiles()), 0,
                       time.perf_counter() - start, 0.0)


def remove_leftovers(output: str) -> List[str]:
    """Remove what killed processes left of ``output``: its temporary files, those of its block files, and block
    folders of other plans once the output exists. Returns what was removed."""
    folder, name = os.path.dirname(os.path.abspath(output)), os.path.basename(output)
    gone = staged_leftovers(output)
    for blocks in glob.glob(os.path.join(glob.escape(folder), f".{glob.escape(name)}.blocks-*")):
        gone += glob.glob(os.path.join(glob.escape(blocks), ".*partial*")) if not os.path.exists(output) else [blocks]
    for path in gone:
        remove_quietly(path)
    return gone

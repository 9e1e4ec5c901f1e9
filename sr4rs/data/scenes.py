"""Many scenes into one training set, split into training and validation by scene (by tile, or tile and date):
a fusion patch set (every scene's resolution groups, Wald's protocol, ``--phases``) or single-image LR/HR
patches images (Wald's protocol at ``factor``). Each scene is planned as one image set is (``plan_fusion_extraction``,
``plan_extraction``), its windows come from ``sr4rs.geo.sampling``'s grid, and its patches are written one scene
after another, so that a scene's patches are one run of indices, recorded with the split in the set's
description (``patches.json``, or the ``SR4RS_SCENES`` tag of the patches images).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import InputError
from ..geo.dtypes import resolve_encoding
from ..geo.sampling import SceneSplit, random_sampler, split_scenes
from ..io.extended import writer_name
from ..io.files import check_output_path
from ..io.scenes import SceneFiles, group_images
from ..progress import CancelToken, Progress, Work
from .extraction import (ExtractionPlan, PairSource, check_outputs, output_paths, plan_extraction,
                         skip_reason as pair_skip, write_pairs)
from .fusion import (FusionPlan, FusionReader, SetWriter, check_set_outputs, manifest as set_manifest,
                     plan_fusion_extraction, set_folders, skip_reason as set_skip)

Plan = Union[FusionPlan, ExtractionPlan]


@dataclass(frozen=True)
class ScenesPlan:
    """Every scene kept (not excluded), its plan, and the split; ``factor`` None for a fusion set."""

    scenes: Tuple[SceneFiles, ...]
    plans: Tuple[Plan, ...]
    split: SceneSplit
    factor: Optional[int] = None
    max_per_scene: Optional[int] = None
    seed: int = 0

    @property
    def fusion(self) -> bool:
        return self.factor is None

    @property
    def work(self) -> int:
        return sum(p.work for p in self.plans)

    def side(self, scene: SceneFiles) -> Optional[str]:
        return self.split.side(scene.key(self.split.by))


def plan_scenes(scenes: Sequence[SceneFiles], patch_size: int, *, step: Optional[int] = None,
                factor: Optional[int] = None, bands: Optional[Sequence[str]] = None, sensor: Optional[str] = None,
                nodata: Optional[float] = None, phases: int = 1, split_by: str = "tile", val_fraction: float = 0.0,
                seed: int = 0, val_tiles: Sequence[str] = (), exclude_tiles: Sequence[str] = (),
                max_per_scene: Optional[int] = None, samples: Optional[int] = None) -> ScenesPlan:
    """Check every scene and place its patches; reads no pixel. Without ``factor``: a fusion set (each scene's
    resolution groups, finest first; ``phases`` as ``plan_fusion_extraction``); with it: LR/HR pairs by Wald's
    protocol of the one group ``bands`` name. The split (``split_scenes``) decides each scene's side; scenes of
    ``exclude_tiles`` are not read. Patches lie on a grid (``step``), or with ``samples`` N are N windows drawn at
    random over the scenes (``sr4rs.geo.sampling.random_sampler``: a scene, and a phase, in proportion to the places
    a patch fits in it; repeats drawn once). ``max_per_scene``: at most so many patches of a scene, drawn with
    ``seed``."""
    for flag, value in (("--max-per-scene", max_per_scene), ("--samples", samples)):
        if value is not None and value < 1:
            raise InputError(f"{flag} {value} must be at least 1")
    split = split_scenes([s.key(split_by) for s in scenes], [s.tile for s in scenes], by=split_by,
                         val_fraction=val_fraction, seed=seed, val_tiles=val_tiles, exclude_tiles=exclude_tiles)
    kept = [s for s in scenes if split.side(s.key(split_by)) is not None]
    plans = tuple(_plan(s, patch_size, step, factor, bands, sensor, nodata, phases) for s in kept)
    _check_alike(kept, plans, factor)
    if samples:
        plans = _sampled(plans, patch_size, samples, seed)
    if not any(p.windows for p in plans):
        raise InputError(f"no patch of {patch_size} pixels fits any scene: lower --patch-size")
    return ScenesPlan(tuple(kept), plans, split, factor, max_per_scene, seed)


def _plan(scene: SceneFiles, patch_size, step, factor, bands, sensor, nodata, phases) -> Plan:
    images = group_images(scene, bands, sensor)
    read = scene.files + ((scene.listed_in,) if scene.listed_in else ())  # no output may replace these
    try:
        if factor is None:
            return plan_fusion_extraction(images, patch_size, step, nodata, read, phases, allow_empty=True)
        if len(images) != 1:
            raise InputError(f"the bands span {len(images)} resolution groups: a single-image set takes bands of "
                             "one resolution: name them with --bands (e.g. B4,B3,B2,B8)")
        if phases != 1:
            raise InputError("--phases applies to fusion patch sets (no --factor): drop it")
        return plan_extraction(None, images[0], patch_size, step, factor=factor, nodata=nodata,
                               originals=read, allow_empty=True)
    except InputError as err:
        raise InputError(f"scene '{scene.name}': {err}") from None


def _places(plan: Plan) -> List[Tuple[int, int, Tuple[int, int]]]:
    """Where a scene's patches may lie: (width, height) of its patch grid at each phase (the shift of its corner, in
    pixels of the coarsest group), for the sampler."""
    if isinstance(plan, ExtractionPlan):
        return [(plan.geometry.lr.width, plan.geometry.lr.height, (0, 0))]
    d, info = plan.wald, plan.infos[0]
    return [((info.width - a * d) // d, (info.height - b * d) // d, (a, b))
            for b in range(plan.phases) for a in range(plan.phases)]


def _sampled(plans: Sequence[Plan], size: int, count: int, seed: int) -> Tuple[Plan, ...]:
    """Each plan with the windows ``random_sampler`` draws for it instead of its grid."""
    places = [(i, w, h, shift) for i, plan in enumerate(plans) for w, h, shift in _places(plan)]
    unit = plans[0].unit if isinstance(plans[0], FusionPlan) else 1
    drawn: List[Dict[Tuple, None]] = [{} for _ in plans]
    for k, window in random_sampler([(w, h) for _, w, h, _ in places], size, count, seed, unit):
        drawn[places[k][0]][(window, places[k][3])] = None
    found = []
    for plan, picks in zip(plans, drawn):
        windows = tuple(w for w, _ in picks)
        if isinstance(plan, FusionPlan):
            found.append(replace(plan, windows=windows, shifts=tuple(s for _, s in picks) if plan.phases > 1 else ()))
        else:
            found.append(replace(plan, windows=windows))
    return tuple(found)


def _bands(plan: Plan) -> Tuple[Tuple[str, ...], ...]:
    if isinstance(plan, FusionPlan):
        return tuple(i.band_names for i in plan.infos)
    return (plan.hr_info.band_names,)


def _check_alike(scenes: Sequence[SceneFiles], plans: Sequence[Plan], factor: Optional[int]) -> None:
    """Every scene gives the same inputs: factors and band names per group."""
    first, ref = scenes[0], plans[0]
    for scene, plan in zip(scenes[1:], plans[1:]):
        if factor is None and plan.factors != ref.factors:
            raise InputError(f"scene '{scene.name}' has groups {', '.join(map(str, plan.factors))} times coarser than "
                             f"its finest, scene '{first.name}' {', '.join(map(str, ref.factors))}: give every scene "
                             "the same resolutions (--bands picks them)")
        if _bands(plan) != _bands(ref):
            shown = lambda p: " | ".join(" ".join(g) for g in _bands(p))  # noqa: E731
            raise InputError(f"scene '{scene.name}' has bands {shown(plan)} but scene '{first.name}' {shown(ref)}: "
                             "name the bands every scene has with --bands, in the same order")


@dataclass(frozen=True)
class ScenesReport:
    """What a multi-scene extraction did: patches per side and per scene, skipped ones, files written."""

    train: int
    val: int
    per_scene: Dict[str, int]
    skipped: Dict[str, int]
    split: SceneSplit
    files: Tuple[str, ...]
    seconds: float


def _scan_scene(plan: ScenesPlan, index: int, source, skip_reason, work: Work, skipped: Dict[str, int]) -> List[int]:
    """The windows of scene ``index`` to keep, in window order: all usable ones, or with ``max_per_scene`` the first
    so many usable ones in an order drawn at random (the rest are not read)."""
    scene_plan, cap = plan.plans[index], plan.max_per_scene
    n = len(scene_plan.windows)
    order = range(n) if cap is None else np.random.default_rng([plan.seed, index]).permutation(n)
    kept, checked = [], 0
    for k in order:
        if cap is not None and len(kept) >= cap:
            break
        reason = skip_reason(scene_plan, source, int(k))
        checked += 1
        if reason:
            skipped[reason] += 1
        else:
            kept.append(int(k))
        work.advance(1)
    skipped["capped"] += n - checked
    work.advance(2 * n - checked - len(kept))  # what is not checked or not kept has nothing more to do
    return sorted(kept)


def _scan_all(plan: ScenesPlan, sources, skip_reason, work: Work):
    """Each scene's kept windows and the counts skipped, per reason, over all scenes."""
    skipped = {"outside": 0, "nodata": 0, "capped": 0}
    kept = [_scan_scene(plan, i, source, skip_reason, work, skipped) for i, source in enumerate(sources)]
    if not any(kept):
        raise InputError(f"no patch kept in {len(plan.scenes)} scenes ({skipped['outside']} outside an image, "
                         f"{skipped['nodata']} with nodata): choose scenes with valid pixels in every image")
    return kept, skipped


def _record(plan: ScenesPlan, side: Optional[str], kept: Sequence[List[int]]) -> dict:
    """The split and the scenes of one side (each a run of patch indices: ``first``, ``count``)."""
    scenes, first = [], 0
    for scene, windows in zip(plan.scenes, kept):
        if side is None or plan.side(scene) == side:
            scenes.append({"name": scene.name, "tile": scene.tile, "date": scene.date, "level": scene.level,
                           "first": first, "count": len(windows), "files": [os.path.basename(f) for f in scene.files]})
            first += len(windows)
    return {"split": plan.split.to_dict(), "scenes": scenes}


def _sides(plan: ScenesPlan) -> List[Optional[str]]:
    return ["train", "val"] if plan.split.val else [None]


def extract_scenes(plan: ScenesPlan, *, out: Optional[str] = None, out_lr: Optional[str] = None,
                   out_hr: Optional[str] = None, encoding: str = "auto", overwrite: bool = False,
                   progress: Optional[Progress] = None, cancel: Optional[CancelToken] = None,
                   creation_options: Optional[Dict[str, str]] = None) -> ScenesReport:
    """Cut every scene of ``plan`` into one training set: a fusion patch set in ``out`` (``out/train`` and
    ``out/val`` when some scenes validate), or LR/HR patches images ``out_lr`` and ``out_hr`` (``*_train``,
    ``*_val``; ``encoding`` and GDAL's ``creation_options`` as ``extract``). All or nothing: nothing is left
    on error or cancel. ``progress(n)`` advances by ``n`` of ``plan.work``."""
    start = time.monotonic()
    if plan.fusion:
        files, kept, skipped = _extract_set(plan, out, overwrite, Work(progress, cancel))
    else:
        files, kept, skipped = _extract_pairs(plan, out_lr, out_hr, encoding, overwrite, Work(progress, cancel),
                                              creation_options or {})
    count = {side: sum(len(k) for s, k in zip(plan.scenes, kept) if plan.side(s) == side) for side in ("train", "val")}
    return ScenesReport(count["train"], count["val"], {s.name: len(k) for s, k in zip(plan.scenes, kept)}, skipped,
                        plan.split, files, time.monotonic() - start)


def _extract_set(plan: ScenesPlan, out: str, overwrite: bool, work: Work):
    val = 0.5 if plan.split.val else 0.0  # any fraction > 0 names out/train and out/val
    check_set_outputs(plan.plans[0], out, val, overwrite, plan.plans[1:])
    check_output_path(os.path.join(out, "x") if os.path.isdir(out) else out, "--out")
    readers = [FusionReader(p) for p in plan.plans]
    folders = set_folders(out, val)
    writer = SetWriter(out, folders, overwrite)
    like = plan.plans[0]
    dtype = np.result_type(*[p.infos[-1].dtype for p in plan.plans])
    try:
        kept, skipped = _scan_all(plan, readers, set_skip, work)
        manifests = {}
        for folder, side in zip(folders, _sides(plan)):
            items = [(p, r, w) for s, p, r, k in zip(plan.scenes, plan.plans, readers, kept)
                     if side is None or plan.side(s) == side for w in k]
            writer.write(items, like, folder, work, dtype)
            manifests[folder] = {**set_manifest(like, len(items)), **_record(plan, side, kept),
                                 "sources": sorted({os.path.basename(f) for s in plan.scenes for f in s.files})}
        writer.commit(manifests)
    except BaseException:
        writer.abort()
        raise
    finally:
        for reader in readers:
            reader.close()
    return tuple(folders), kept, skipped


def _extract_pairs(plan: ScenesPlan, out_lr: str, out_hr: str, encoding: str, overwrite: bool, work: Work,
                   creation_options: Dict[str, str]):
    names = {"lr": writer_name(out_lr, "--out-lr"), "hr": writer_name(out_hr, "--out-hr")}
    out_lr, out_hr = names["lr"].path, names["hr"].path
    options = {role: {**creation_options, **name.creation_options} for role, name in names.items()}
    val = 0.5 if plan.split.val else 0.0
    check_outputs(plan.plans[0], out_lr, out_hr, val, overwrite, None, plan.plans[1:])
    dtype = np.result_type(*[p.hr_info.dtype for p in plan.plans])
    dtypes = (resolve_encoding(encoding, dtype), resolve_encoding(encoding, dtype))
    sources = [PairSource(p) for p in plan.plans]
    try:
        kept, skipped = _scan_all(plan, sources, pair_skip, work)
        parts = []
        for output, side in zip(output_paths(out_lr, out_hr, val), _sides(plan)):
            items = [(p, src, p.windows[w]) for s, p, src, k in zip(plan.scenes, plan.plans, sources, kept)
                     if side is None or plan.side(s) == side for w in k]
            tags = {"SR4RS_SCENES": json.dumps(_record(plan, side, kept)),
                    "SR4RS_SOURCE": f"{len(plan.scenes)} scenes degraded x{plan.factor}"}
            parts.append((output, items, tags))
        files = write_pairs(plan.plans[0], parts, dtypes, overwrite, work, options)
    finally:
        for source in sources:
            source.close()
    return files, kept, skipped


def scene_report_line(report: ScenesReport) -> str:
    """One line: patches per side, scenes per side, skipped patches."""
    split = report.split
    units = lambda names: f"{len(names)} {split.by}{'s' if len(names) != 1 else ''}"  # noqa: E731
    sides = f"{report.train} train ({units(split.train)})"
    if split.val:
        sides += f", {report.val} val ({units(split.val)}: {' '.join(split.val)})"
    left = f"; {units(split.excluded)} excluded ({' '.join(split.excluded)})" if split.excluded else ""
    skipped = ", ".join(f"{n} {'left by --max-per-scene' if reason == 'capped' else reason}"
                        for reason, n in report.skipped.items() if n) or "none"
    return f"{sides} from {len(report.per_scene)} scenes{left}; skipped {skipped}"


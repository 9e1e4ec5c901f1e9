"""What a run trains on, described and checked before TensorFlow starts: LR/HR patches images (one input),
patch sets (several inputs at different resolutions and a target, for fusion networks) or shards of either.

Each kind of training data is one entry of ``KINDS``: how to recognise it (``detect``, on a path of
``--lr_patches``), describe and check it (``describe``, before TensorFlow) and open it as training and validation
sources (``open``): anything with a ``count``, a ``description`` and ``batches(...)`` (``TrainingSource``). A new
kind (scenes read on the fly through ``sr4rs.geo.sampling``'s samplers and ``sr4rs.data.scenes``' per-scene
readers) is one more entry. Sets cut from many scenes carry their split by scene and each scene's run of patches
(``extract --scenes``), from which the statistics the exported model records are taken per scene."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from typing import Callable, Dict, List, Optional, Protocol, Sequence, Tuple

import numpy as np

from ..errors import InputError
from ..geo.radiometry import envelope, percentiles, statistics_record
from ..io.patches import SET_MANIFEST, PatchesReader, describe_patches, describe_sets, is_patch_set
from ..io.rasters import read_info
from ..io.shards import describe_shards, is_shards
from ..nets import is_fusion
from .config import TrainConfig


@dataclass(frozen=True)
class TrainingData:
    """The inputs a network takes ((bands, factor) each, finest first), its output bands, their names, the
    patch count, and a summary recorded in the exported model."""

    fusion: bool
    count: int
    inputs: Tuple[Tuple[int, int], ...]
    input_names: Tuple[Tuple[str, ...], ...]
    output_names: Tuple[str, ...]
    summary: dict
    kind: str = "images"  # its entry of KINDS

    @property
    def scale(self) -> int:
        return max(f for _, f in self.inputs)

    @property
    def output_bands(self) -> int:
        return len(self.output_names)


def _names(names, count: int) -> Tuple[str, ...]:
    return tuple(names) if names and all(names) else tuple(f"band{i + 1}" for i in range(count))


def _pairs(cfg: TrainConfig) -> TrainingData:
    if not cfg.hr_patches:
        raise InputError("--lr_patches are patches images: give their --hr_patches too (or patch set folders)")
    desc = describe_patches(list(cfg.lr_patches), list(cfg.hr_patches))
    if cfg.valid_lr_patches:
        vdesc = describe_patches(list(cfg.valid_lr_patches), list(cfg.valid_hr_patches))
        if (vdesc.ratio, vdesc.lr_bands, vdesc.hr_bands) != (desc.ratio, desc.lr_bands, desc.hr_bands):
            raise InputError("validation patches differ from training patches in ratio or bands: "
                             "extract both with the same settings")
    if desc.lr_bands != desc.hr_bands:
        raise InputError(f"LR patches have {desc.lr_bands} band(s) but HR patches {desc.hr_bands}: the generators "
                         "map each band to itself, extract LR and HR with the same bands")
    if desc.ratio < 2 or desc.ratio & (desc.ratio - 1):
        raise InputError(f"the HR/LR patch size ratio is {desc.ratio}: the networks support powers of two (2, 4, 8)")
    names = tuple(cfg.bands) or _names(desc.lr_band_names, desc.lr_bands)
    return TrainingData(False, desc.count, ((desc.lr_bands, desc.ratio),), (names,), names,
                        {"patches": desc.count, "lr_patch_size": desc.lr_patch_size,
                         "hr_patch_size": desc.hr_patch_size, "lr_dtype": str(desc.lr_dtype),
                         "files": list(cfg.lr_patches)})


def _sets(cfg: TrainConfig) -> TrainingData:
    if cfg.hr_patches:
        raise InputError("--lr_patches are patch sets (each holds its target): drop --hr_patches")
    desc = describe_sets(list(cfg.lr_patches))
    if cfg.valid_lr_patches:
        vdesc = describe_sets(list(cfg.valid_lr_patches))
        if (vdesc.factors, vdesc.patch_size) != (desc.factors, desc.patch_size):
            raise InputError("validation patch sets differ from the training sets: extract both with the same settings")
    inputs = tuple((len(b), f) for b, f in zip(desc.input_bands, desc.factors))
    return TrainingData(True, desc.count, inputs, desc.input_bands, tuple(cfg.bands) or desc.target_bands,
                        {"patches": desc.count, "patch_size": desc.patch_size, "factors": list(desc.factors),
                         "sets": list(cfg.lr_patches)})


def _shards(cfg: TrainConfig) -> TrainingData:
    if cfg.hr_patches:
        raise InputError("--lr_patches are shards folders (each shard holds its target): drop --hr_patches")
    d = describe_shards(list(cfg.lr_patches))
    if cfg.valid_lr_patches:
        if not all(is_shards(p) for p in cfg.valid_lr_patches):
            raise InputError("--valid_lr_patches: give shards folders too, made with the same settings")
        v = describe_shards(list(cfg.valid_lr_patches))
        if (v.kind, v.factors, v.patch_size) != (d.kind, d.factors, d.patch_size):
            raise InputError("validation shards differ from the training shards: make both from the same extraction")
    summary = {"patches": d.count, "shards": len(d.shards), "patch_size": d.patch_size, "factors": list(d.factors),
               "folders": list(cfg.lr_patches)}
    inputs = tuple((len(b), f) for b, f in zip(d.input_bands, d.factors))
    if d.kind == "sets":
        return TrainingData(True, d.count, inputs, d.input_bands, tuple(cfg.bands) or d.target_bands, summary)
    ratio = d.factors[0]
    if ratio < 2 or ratio & (ratio - 1) or len(d.input_bands[0]) != len(d.target_bands):
        raise InputError(f"the shards' LR/HR pairs have ratio {ratio} and {len(d.input_bands[0])}/"
                         f"{len(d.target_bands)} bands: the networks take the same bands at a power-of-two ratio")
    names = tuple(cfg.bands) or d.input_bands[0]
    return TrainingData(False, d.count, inputs, (names,), names, summary)


class TrainingSource(Protocol):
    """What the training loop reads: ``count`` samples, their ``description``, and ``tf.data`` batches of them
    (``sr4rs.data.datasets``' ``PatchesDataset``, ``PatchSetDataset`` and ``ShardedDataset`` are ones)."""

    count: int
    description: object

    def batches(self, batch_size: int, shuffle: bool = True, augment: bool = False, seed: Optional[int] = None,
                repeat: bool = False, drop_remainder: bool = False, transform: Optional[Callable] = None): ...


Sources = Tuple[TrainingSource, Optional[TrainingSource]]


def _open_shards(cfg: TrainConfig, data: "TrainingData") -> Sources:
    from ..data.datasets import ShardedDataset

    return (ShardedDataset(list(cfg.lr_patches)),
            ShardedDataset(list(cfg.valid_lr_patches)) if cfg.valid_lr_patches else None)


def _open_sets(cfg: TrainConfig, data: "TrainingData") -> Sources:
    from ..data.datasets import PatchSetDataset

    return (PatchSetDataset(list(cfg.lr_patches)),
            PatchSetDataset(list(cfg.valid_lr_patches)) if cfg.valid_lr_patches else None)


def _open_pairs(cfg: TrainConfig, data: "TrainingData") -> Sources:
    """Patches images; pairs with an all-fill patch are skipped and counted, at least --batchsize must remain."""
    from ..data.datasets import PatchesDataset

    train = PatchesDataset(list(cfg.lr_patches), list(cfg.hr_patches), streaming=cfg.streaming)
    if train.count < cfg.batchsize:
        raise InputError(f"{train.count} patch pairs hold an image ({train.skipped} of {data.count} are all fill, 0 or "
                         f"the nodata value): fewer than --batchsize {cfg.batchsize}; extract patches where the image "
                         "has data")
    valid = PatchesDataset(list(cfg.valid_lr_patches), list(cfg.valid_hr_patches)) if cfg.valid_lr_patches else None
    if valid is not None and valid.count == 0:
        raise InputError("every validation patch pair is all fill (0 or the nodata value): extract validation patches "
                         "where the image has data")
    return train, valid


@dataclass(frozen=True)
class Kind:
    """One kind of training data: recognised on a path, described (no TensorFlow), opened as sources."""

    detect: Callable[[str], bool]
    describe: Callable[[TrainConfig], "TrainingData"]
    open: Callable[[TrainConfig, "TrainingData"], Sources]


# Tried in order; the last recognises anything (patches images, checked when described).
KINDS: Dict[str, Kind] = {
    "shards": Kind(is_shards, _shards, _open_shards),
    "sets": Kind(is_patch_set, _sets, _open_sets),
    "images": Kind(lambda path: True, _pairs, _open_pairs),
}


def _kind(cfg: TrainConfig) -> str:
    """Which entry of KINDS the --lr_patches are (all of one kind)."""
    kinds = {next(name for name, kind in KINDS.items() if kind.detect(p)) for p in cfg.lr_patches}
    if len(kinds) > 1:
        raise InputError(f"--lr_patches mixes {' and '.join(sorted(kinds))}: give one kind (patch set folders, shards "
                         "folders or patches images)")
    return kinds.pop() if kinds else "images"


def describe_data(cfg: TrainConfig) -> TrainingData:
    """The training data, checked against the validation data, the network and the flags."""
    kind = _kind(cfg)
    data = replace(KINDS[kind].describe(cfg), kind=kind)
    if is_fusion(cfg.arch) != data.fusion:
        raise InputError(f"--arch {cfg.arch} trains on {'patch sets' if is_fusion(cfg.arch) else 'LR/HR patches'}, "
                         f"but --lr_patches are {'patch sets' if data.fusion else 'LR/HR patches images'}: "
                         f"{'choose --arch fusion' if data.fusion else 'choose --arch sr4rs or edsr'}")
    if data.fusion and cfg.ganweight > 0:
        raise InputError(f"--arch {cfg.arch} trains on pixel losses: pass --ganweight 0")
    if data.fusion and (cfg.degradation != "fixed" or cfg.progressive or cfg.shift):
        raise InputError("--degradation random, --progressive and --shift change LR/HR patch pairs; patch sets are "
                         "made by Wald's protocol at extraction: drop them")
    if cfg.bands and len(cfg.bands) != data.output_bands:
        raise InputError(f"--bands names {len(cfg.bands)} bands but the patches have {data.output_bands}: "
                         "name every band, in order")
    if cfg.preview:
        if data.fusion:
            raise InputError("--preview shows one image through the network; a fusion network takes several: "
                             "drop --preview")
        count = read_info(cfg.preview).count
        if count != data.inputs[0][0]:
            raise InputError(f"--preview '{cfg.preview}' has {count} band(s) but the LR patches have "
                             f"{data.inputs[0][0]}: give an LR image with the same bands")
    if data.count < cfg.batchsize:
        raise InputError(f"{data.count} patches are fewer than --batchsize {cfg.batchsize}: "
                         "extract more patches or lower --batchsize")
    return data


def datasets(cfg: TrainConfig, data: TrainingData) -> Sources:
    """The training and validation sources of ``data`` (described by ``describe_data``), patches read and checked:
    no NaN; pairs with an all-fill patch are skipped and counted, and at least --batchsize pairs must remain."""
    return KINDS[data.kind].open(cfg, data)


# --- what the training data looked like, recorded in the exported model (sr4rs.geo.radiometry) ---------------------

SAMPLED_PATCHES = 32  # per scene and input: enough for percentiles, a few reads


def _runs(path: str) -> Tuple[List[Tuple[int, int]], List[str]]:
    """The scenes of a patch set folder or patches image, as (first, count) runs of patches, and their levels: from
    its description of a multi-scene extraction, else one run of every patch."""
    if os.path.isdir(path):
        with open(os.path.join(path, SET_MANIFEST), encoding="utf-8") as f:
            record = json.load(f)
    else:
        tag = read_info(path).metadata.get("SR4RS_SCENES")
        record = json.loads(tag) if tag else None
    scenes = (record or {}).get("scenes") or []
    if scenes:
        return [(int(s["first"]), int(s["count"])) for s in scenes if s["count"]], [s.get("level", "") for s in scenes]
    return [], []


def _run_percentiles(path: str, runs: Sequence[Tuple[int, int]]) -> List[np.ndarray]:
    """Each run's percentiles (3, bands), over a few patches spread through it (all-zero pixels left out)."""
    reader = PatchesReader(path)
    try:
        found = []
        for first, count in runs or [(0, reader.layout.count)]:
            picks = np.unique(np.linspace(first, first + count - 1, min(SAMPLED_PATCHES, count)).round().astype(int))
            pixels = np.concatenate([reader.read(int(k), 1).reshape(-1, reader.layout.bands) for k in picks])
            pixels = pixels[(pixels != 0).any(axis=-1)]
            if len(pixels):
                found.append(percentiles(pixels))
        return found
    finally:
        reader.close()


def _input_files(cfg: TrainConfig, data: TrainingData) -> List[Tuple[str, List[str]]]:
    """(run source, the patches image of each model input) for every training file or set."""
    if data.fusion:
        return [(folder, [layout.path for layout in s.inputs])
                for folder, s in zip(cfg.lr_patches, describe_sets(list(cfg.lr_patches)).sets)]
    return [(path, [path]) for path in cfg.lr_patches]


def training_statistics(cfg: TrainConfig, data: TrainingData) -> dict:
    """The statistics the exported model records of its training inputs (``sr4rs.geo.radiometry``): per model input
    and band, the range over the training scenes of their percentiles (a patch set or file without a multi-scene
    description counts as one scene). Shards: none recorded."""
    if is_shards(cfg.lr_patches[0]):
        return {}
    per_input: List[List[np.ndarray]] = [[] for _ in data.inputs]
    levels: List[str] = []
    for source, files in _input_files(cfg, data):
        runs, found_levels = _runs(source)
        levels += [level for level in found_levels if level]
        for i, path in enumerate(files):
            per_input[i] += _run_percentiles(path, runs)
    if not all(per_input):
        return {}
    return statistics_record([envelope(found, names) for found, names in zip(per_input, data.input_names)], levels)

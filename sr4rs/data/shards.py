"""``sr4rs shard``: patches images (LR/HR pairs) or patch sets cut into shards of a few hundred patches, in a
seeded random order, so that training reads many small files in parallel (``tf.data`` interleave), from local
disk or object storage, instead of one large file. The folder appears whole or not at all."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError
from ..geo.windows import Window
from ..io.files import StagedFile, check_writable_folder, remove_quietly, write_failure
from ..io.geotiff import GeoTiffSink
from ..io.patches import (PatchesReader, as_list, check_patch_content, describe_patches, describe_sets,
                          is_patch_set, patches_creation_options, patches_spec)
from ..io.paths import Read, Target, check_targets
from ..io.shards import SHARDS_MANIFEST, manifest, shard_names
from ..progress import CancelToken, Progress, Work

DEFAULT_SHARD_SIZE = 256  # patches per shard


@dataclass(frozen=True)
class ShardReport:
    output: str
    shards: int
    patches: int
    seconds: float


@dataclass(frozen=True)
class _Layout:
    """What is sharded: per source, its files (inputs then target) and patch count; per role, its type."""

    kind: str
    sources: Tuple[Tuple[Tuple[str, ...], int], ...]
    factors: Tuple[int, ...]
    input_bands: Tuple[Tuple[str, ...], ...]
    target_bands: Tuple[str, ...]
    patch_size: int
    dtypes: Tuple[np.dtype, ...]

    @property
    def count(self) -> int:
        return sum(n for _, n in self.sources)


def _names(names, count: int) -> Tuple[str, ...]:
    return tuple(names) if names and all(names) else tuple(f"band{i + 1}" for i in range(count))


def _check_sources(lr_patches: Sequence[str]) -> None:
    """Each --lr_patches a patches image or a patch set folder, and all of one kind; a folder that is neither
    (empty, a shards folder, any folder) said so."""
    for path in lr_patches:
        if not os.path.exists(path) and not path.startswith("/vsi"):
            raise InputError(f"--lr_patches '{path}' does not exist: check the path")
        if os.path.isdir(path) and not is_patch_set(path):
            what = "a shards folder (sr4rs train reads it as it is)" if os.path.isfile(
                os.path.join(path, SHARDS_MANIFEST)) else "a folder without patches.json, not a patch set"
            raise InputError(f"--lr_patches '{path}' is {what}: give patches images or patch set folders written by "
                             "sr4rs extract")
    if len({is_patch_set(p) for p in lr_patches}) > 1:
        raise InputError("--lr_patches mixes patch set folders and patches images: shard one kind at a time")


def _layout(lr_patches: Sequence[str], hr_patches: Sequence[str]) -> _Layout:
    _check_sources(lr_patches)
    if all(is_patch_set(p) for p in lr_patches):
        if hr_patches:
            raise InputError("--lr_patches are patch sets (each holds its target): drop --hr_patches")
        d = describe_sets(lr_patches)
        sources = tuple((tuple(x.path for x in s.inputs) + (s.target.path,), s.count) for s in d.sets)
        dtypes = tuple(np.result_type(*[(s.inputs + (s.target,))[k].dtype for s in d.sets])
                       for k in range(len(d.factors) + 1))
        return _Layout("sets", sources, d.factors, d.input_bands, d.target_bands, d.patch_size, dtypes)
    if not hr_patches:
        raise InputError("--lr_patches are patches images: give their --hr_patches too (or patch set folders)")
    d = describe_patches(lr_patches, hr_patches)
    sources = tuple(((lr.path, hr.path), lr.count) for lr, hr in d.pairs)
    return _Layout("pairs", sources, (d.ratio,), (_names(d.lr_band_names, d.lr_bands),),
                   _names(d.hr_band_names, d.hr_bands), d.hr_patch_size, (d.lr_dtype, d.hr_dtype))


def _is_shards_folder(path: str) -> bool:
    """A folder sr4rs shard wrote (its manifest and shard files, nothing else): what --overwrite may replace."""
    if not os.path.isdir(path) or os.path.islink(path):
        return False
    names = os.listdir(path)
    return SHARDS_MANIFEST in names and all(n == SHARDS_MANIFEST or n.startswith("shard-") for n in names)


def check_shard_output(layout: _Layout, output: str, shard_size: int, overwrite: bool) -> None:
    if isinstance(shard_size, bool) or not isinstance(shard_size, int) or shard_size < 1:
        raise InputError(f"--shard-size must be a positive number of patches, received {shard_size!r}")
    reads = [Read(f, "--lr_patches") for files, _ in layout.sources for f in files]
    if layout.kind == "sets":  # a patch set is a folder of its own: nothing goes inside it
        reads += [Read(os.path.dirname(files[0]), "--lr_patches") for files, _ in layout.sources]
    check_targets([Target(output, "--output", "shards folder written by sr4rs shard", _is_shards_folder)], reads,
                  overwrite)
    check_writable_folder(os.path.dirname(os.path.abspath(output)) or ".", "output folder", "--output")


def _write_shard(layout: _Layout, readers, picks, folder: str, index: int) -> None:
    """Patches ``picks`` ((source, patch) pairs) as shard ``index``: one patches image per role."""
    inputs, target = shard_names(index, len(layout.factors))
    for role, name in enumerate(inputs + [target]):
        patches = np.stack([readers[s][role].read(k, 1)[0] for s, k in picks]).astype(layout.dtypes[role])
        reader = readers[picks[0][0]][role]
        check_patch_content(patches, reader.path, picks[0][1], reader.nodata)
        n, p, _, c = patches.shape
        bands = layout.input_bands[role] if role < len(inputs) else layout.target_bands
        spec = patches_spec(p, n, c, layout.dtypes[role], reader.nodata, bands)
        with GeoTiffSink(os.path.join(folder, name), spec, patches_creation_options(p)) as sink:
            sink.write(Window(0, 0, p, n * p), patches.reshape(n * p, p, c))


def _commit(staged: StagedFile, output: str) -> None:
    """The new folder in place of ``output``; an earlier one (``--overwrite``) removed once it is."""
    old = None
    try:
        if os.path.exists(output):
            old = StagedFile(output, tag="replaced").tmp
            os.replace(output, old)
        os.replace(staged.tmp, output)
    except OSError as err:
        if old is not None and not os.path.exists(output):
            os.replace(old, output)
        raise write_failure(output, err.strerror or str(err)) from None
    if old is not None:
        remove_quietly(old)


def shard_patches(lr_patches: Sequence[str], hr_patches: Sequence[str], output: str,
                  shard_size: int = DEFAULT_SHARD_SIZE, seed: Optional[int] = 0, overwrite: bool = False,
                  progress: Optional[Progress] = None, cancel: Optional[CancelToken] = None) -> ShardReport:
    """Cut LR/HR patches images (``hr_patches`` given) or patch sets into shards of ``shard_size`` patches in
    the folder ``output``, in an order shuffled by ``seed`` (None: the sources' order). ``progress``: patches."""
    start = time.perf_counter()
    layout = _layout(as_list(lr_patches), as_list(hr_patches or ()))
    check_shard_output(layout, output, shard_size, overwrite)
    order = [(s, k) for s, (_, n) in enumerate(layout.sources) for k in range(n)]
    if seed is not None:
        order = [order[i] for i in np.random.default_rng(seed).permutation(len(order))]
    work, staged = Work(progress, cancel), StagedFile(output, overwrite=True)
    readers: List[List[PatchesReader]] = []
    try:
        os.makedirs(staged.tmp)
        readers = [[PatchesReader(f) for f in files] for files, _ in layout.sources]
        counts = []
        for index, first in enumerate(range(0, len(order), shard_size)):
            picks = order[first:first + shard_size]
            work.check()
            _write_shard(layout, readers, picks, staged.tmp, index)
            counts.append((index, len(picks)))
            work.advance(len(picks))
        text = manifest(layout.kind, layout.factors, layout.input_bands, layout.target_bands, layout.patch_size,
                        counts, [files[0] for files, _ in layout.sources])
        with open(os.path.join(staged.tmp, SHARDS_MANIFEST), "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as err:
        remove_quietly(staged.tmp)
        raise write_failure(output, err.strerror or str(err)) from None
    except BaseException:
        remove_quietly(staged.tmp)
        raise
    finally:
        for row in readers:
            for reader in row:
                reader.close()
    _commit(staged, output)
    return ShardReport(output, len(counts), layout.count, time.perf_counter() - start)

"""The training input pipeline: (lr, hr) float32 batches of raw pixel values from LR/HR patches images.

In memory, all patches are loaded once; streaming, each patch is read from disk
when needed (one GDAL window read), so datasets larger than RAM train too.
Both modes walk the same shuffled index, so the same seed gives the same batches.
"""
from __future__ import annotations

import threading
from typing import Callable, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from ..errors import InputError
from ..geo.patches import PatchesDescription
from ..io.patches import (PatchesReader, as_list, describe_patches, describe_sets, read_checked, read_with_empty,
                          with_reader)
from ..io.shards import describe_shards


class _Indexed:
    """Samples found by index (``self._lookup``), ``self.count`` of them; ``batches`` makes the tf.data
    pipeline of one pass, so that a trainer can give every epoch a seed of its own and a resumed run
    replays exactly the epochs it had not done."""

    count: int

    def batches(self, batch_size: int, shuffle: bool = True, augment: bool = False, seed: Optional[int] = None,
                repeat: bool = False, drop_remainder: bool = False,
                transform: Optional[Callable] = None) -> tf.data.Dataset:
        """Batches of (lr, hr) float32 patches; ``repeat`` makes it endless (reshuffled each pass).
        ``transform(sample, seed)``: a change drawn per sample (a degradation, a crop), from a stateless
        seed that the same ``seed`` repeats."""
        _check_batch_size(batch_size)
        ds = tf.data.Dataset.range(self.count)
        if shuffle:
            ds = ds.shuffle(self.count, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
        return _samples_to_batches(ds, self._lookup, batch_size, augment, seed, drop_remainder, transform)


def _check_batch_size(batch_size) -> None:
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise InputError(f"batch size must be a positive integer, received {batch_size!r}")


def _samples_to_batches(ds, lookup, batch_size, augment, seed, drop_remainder, transform) -> tf.data.Dataset:
    """``lookup`` over ``ds`` (None: its elements are the samples), with the augmentation and ``transform`` drawn
    per element, batched, prefetched."""
    if augment or transform is not None:
        # A fresh random draw per element and per pass, reproducible from ``seed``.
        draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        sample = lookup or (lambda x: x)
        ds = tf.data.Dataset.zip((ds, draws)).map(
            lambda x, r: _draw(sample(x), r, augment, transform), num_parallel_calls=tf.data.AUTOTUNE)
    elif lookup is not None:
        ds = ds.map(lookup, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(int(batch_size), drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


class PatchesDataset(_Indexed):
    """LR/HR patches files, checked and loaded (or opened for streaming) once: (lr, hr) samples.

    With ``check_content``, a pair whose LR or HR patch is all fill (the nodata value, or 0 in a file without
    one, as OTBTF's PatchesExtraction writes) is skipped and counted in ``skipped``; a patch holding NaN is
    refused."""

    def __init__(self, lr_files: Sequence[str], hr_files: Sequence[str], streaming: bool = False,
                 check_content: bool = True):
        lr_files, hr_files = as_list(lr_files), as_list(hr_files)
        self.description = describe_patches(lr_files, hr_files)
        if streaming:
            kept = np.arange(self.description.count)
            if check_content:
                kept = np.flatnonzero(~np.concatenate([with_reader(lr, PatchesReader.empty_mask) |
                                                       with_reader(hr, PatchesReader.empty_mask)
                                                       for lr, hr in zip(lr_files, hr_files)]))
            self._lookup = _streaming_lookup(self.description, kept)
        else:
            self._lookup, kept = _memory_lookup(self.description, check_content)
        self.count = len(kept)
        self.skipped = self.description.count - self.count


class PatchSetDataset(_Indexed):
    """Patch sets (several inputs and a target), loaded once: ((input_0, input_1, ...), target) samples."""

    def __init__(self, folders: Sequence[str], check_content: bool = True):
        self.description = describe_sets(as_list(folders))
        arrays = [[] for _ in range(len(self.description.factors) + 1)]
        for patch_set in self.description.sets:
            for k, layout in enumerate(patch_set.inputs + (patch_set.target,)):
                arrays[k].append(read_checked(layout.path, check_content))
        tensors = [tf.constant(np.concatenate(a).astype(np.float32)) for a in arrays]
        self.count = self.description.count

        def lookup(i):
            return tuple(tf.gather(t, i) for t in tensors[:-1]), tf.gather(tensors[-1], i)

        self._lookup = lookup


class ShardedDataset:
    """Shards folders (``sr4rs shard``), local or remote: each pass reads the shards in a shuffled order, several
    at a time (``interleave``), each whole in one go through GDAL, mixes their patches in a shuffle buffer of a
    few shards, and prefetches. The same seed gives the same batches."""

    CYCLE = 4  # shards read at once

    def __init__(self, folders: Sequence[str]):
        self.description = describe_shards(as_list(folders))
        self.count = self.description.count
        self.fusion = self.description.kind == "sets"

    def _read(self):
        """shard index -> its patches, one float32 array (n, p, p, c) per input and one for the target."""
        d = self.description
        files = [s.inputs + (s.target,) for s in d.shards]

        def read(k):
            return [with_reader(path, PatchesReader.read_all).astype(np.float32) for path in files[int(k)]]

        sizes = [d.input_size(i) for i in range(len(d.factors))] + [d.patch_size]
        bands = [len(b) for b in d.input_bands] + [len(d.target_bands)]
        fusion = self.fusion

        def shard(k):
            arrays = tf.numpy_function(read, [k], [tf.float32] * len(sizes), stateful=False)
            for array, p, c in zip(arrays, sizes, bands):
                array.set_shape((None, p, p, c))
            sample = (tuple(arrays[:-1]), arrays[-1]) if fusion else (arrays[0], arrays[1])
            return tf.data.Dataset.from_tensor_slices(sample)

        return shard

    def batches(self, batch_size: int, shuffle: bool = True, augment: bool = False, seed: Optional[int] = None,
                repeat: bool = False, drop_remainder: bool = False,
                transform: Optional[Callable] = None) -> tf.data.Dataset:
        """As ``PatchesDataset.batches``; patches are shuffled within a buffer of a few shards' worth."""
        _check_batch_size(batch_size)
        n = len(self.description.shards)
        ds = tf.data.Dataset.range(n)
        if shuffle:
            ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
        ds = ds.interleave(self._read(), cycle_length=min(self.CYCLE, n), num_parallel_calls=tf.data.AUTOTUNE,
                           deterministic=True)
        if shuffle:
            per_shard = -(-self.count // n)
            ds = ds.shuffle(min(self.count, self.CYCLE * per_shard), seed=seed, reshuffle_each_iteration=True)
        return _samples_to_batches(ds, None, batch_size, augment, seed, drop_remainder, transform)


def make_dataset(lr_files: Sequence[str], hr_files: Sequence[str], batch_size: int, shuffle: bool = True,
                 augment: bool = False, streaming: bool = False, seed: Optional[int] = None,
                 repeat: bool = False, drop_remainder: bool = False, check_content: bool = True) -> tf.data.Dataset:
    """Batches of (lr, hr) float32 patches, shapes (B, p, p, C_lr) and (B, p*r, p*r, C_hr).

    ``lr_files[i]`` pairs with ``hr_files[i]``; all are checked (counts, sizes, ratio, bands and,
    unless ``check_content`` is False, no NaN patch; pairs with an all-fill patch are skipped) before the
    dataset is built: any problem is an InputError naming the file. ``augment`` applies one of the 8 flips/90-degree
    rotations, the same to LR and HR. ``repeat`` makes the dataset endless (reshuffled each pass).
    """
    source = PatchesDataset(lr_files, hr_files, streaming=streaming, check_content=check_content)
    return source.batches(batch_size, shuffle=shuffle, augment=augment, seed=seed, repeat=repeat,
                          drop_remainder=drop_remainder)


def _memory_lookup(d: PatchesDescription, check_content: bool):
    """(index -> (lr, hr) float32 from the kept patches loaded once, in their file type to save RAM; the
    indices kept)."""
    lrs, hrs, empty = [], [], []
    for lr_layout, hr_layout in d.pairs:
        if check_content:
            (lr, lr_empty), (hr, hr_empty) = read_with_empty(lr_layout.path), read_with_empty(hr_layout.path)
            empty.append(lr_empty | hr_empty)
        else:
            lr, hr = read_checked(lr_layout.path, False), read_checked(hr_layout.path, False)
            empty.append(np.zeros(len(lr), bool))
        lrs.append(lr)
        hrs.append(hr)
    keep = ~np.concatenate(empty)
    lr = tf.constant(np.concatenate(lrs)[keep].astype(d.lr_dtype, copy=False))
    hr = tf.constant(np.concatenate(hrs)[keep].astype(d.hr_dtype, copy=False))

    def lookup(i):
        return tf.cast(tf.gather(lr, i), tf.float32), tf.cast(tf.gather(hr, i), tf.float32)

    return lookup, np.flatnonzero(keep)


def _streaming_lookup(d: PatchesDescription, kept: np.ndarray):
    """index -> (lr, hr) float32 read from disk, one patch per GDAL window read."""
    starts = np.cumsum([0] + [lr.count for lr, _ in d.pairs])
    paths = [(lr.path, hr.path) for lr, hr in d.pairs]
    local = threading.local()  # GDAL handles are not thread-safe: one set per tf.data thread

    def read(i) -> Tuple[np.ndarray, np.ndarray]:
        cache = local.__dict__.setdefault("readers", {})
        i = int(kept[int(i)])
        f = int(np.searchsorted(starts, i, side="right")) - 1
        k = i - int(starts[f])
        out = []
        for path in paths[f]:
            if path not in cache:
                cache[path] = PatchesReader(path)
            out.append(cache[path].read(k, 1)[0].astype(np.float32))
        return out[0], out[1]

    lr_shape = (d.lr_patch_size, d.lr_patch_size, d.lr_bands)
    hr_shape = (d.hr_patch_size, d.hr_patch_size, d.hr_bands)

    def lookup(i):
        lr, hr = tf.numpy_function(read, [i], (tf.float32, tf.float32), stateful=False)
        lr.set_shape(lr_shape)
        hr.set_shape(hr_shape)
        return lr, hr

    return lookup


def _draw(sample, draw, augment: bool, transform):
    if augment:
        sample = _augment(sample, draw)
    if transform is not None:
        sample = transform(sample, tf.stack([draw, tf.constant(0x5EED, tf.int64)]))
    return sample


def _augment(sample, draw):
    """One of the 8 symmetries of the square (``draw`` mod 8), applied to every patch of the sample alike."""
    code = tf.math.floormod(draw, 8)
    k = tf.cast(code % 4, tf.int32)
    flip = code >= 4

    def turn(x):
        out = tf.image.rot90(x, k)
        out = tf.cond(flip, lambda: tf.reverse(out, [1]), lambda: out)
        out.set_shape(x.shape)
        return out

    return tf.nest.map_structure(turn, sample)

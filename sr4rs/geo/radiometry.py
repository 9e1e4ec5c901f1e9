"""Whether an input's values look like those a model was trained on: the training's statistics (per band, the range
over its scenes of each scene's 2nd, 50th and 98th percentiles) against the same percentiles of the input, and a
one-line guess of what went wrong when they are far apart. Pure numpy.

A band is *far outside* when
- its median is over 3 times the highest training scene's median, or its 2nd percentile above every training
  scene's 98th (``above``: digital numbers given to a reflectance model, another scaling);
- its median is under a third of the lowest training scene's median, or its 98th percentile under every training
  scene's 2nd (``below``);
- its 2nd percentile (its dark end) is both twice and 500 units above the highest of the training scenes'
  (``dark``: an offset added to every value, as Sentinel-2 L2A products from processing baseline 04.00 carry
  (+1000) and the reader removes, or a scene brighter than any it saw: snow, cloud).
An input is out of range when more than half of its bands are; the likely cause is read from the ratio of the
medians (digital numbers, 0-1 against x 10000 reflectance, 8-bit images). Apart from these, an input that looks like
a typical training scene plus the same constant in every band (``_offset``) is an offset not removed. Scene content moves these percentiles within the
training's range when the training covered many scenes; the factors leave room for scenes brighter or darker
than any of them. A model trained on one scene has a narrow range: the rule is meant for gross mismatches.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np

PERCENTILES = (2, 50, 98)
MEDIAN_FACTOR = 3.0
DARK_FACTOR, DARK_MARGIN = 2.0, 500.0
OFFSET_SHIFT = (500.0, 2000.0)  # an added offset, as Sentinel-2 L2A's 1000
OFFSET_UNSEEN = 1.5  # ... and no training scene within this factor of the input's percentiles in those bands


def percentiles(values: np.ndarray) -> np.ndarray:
    """(3, bands): the 2nd, 50th and 98th percentiles of ``values`` (pixels, bands), over finite values."""
    values = np.asarray(values, np.float64).reshape(-1, np.shape(values)[-1])
    return np.stack([np.nanpercentile(np.where(np.isfinite(values), values, np.nan), p, axis=0) for p in PERCENTILES])


def envelope(per_scene: Sequence[np.ndarray], bands: Sequence[str]) -> dict:
    """The training statistics of one model input: each percentile's [lowest, highest] over the scenes, per band."""
    stacked = np.stack([np.asarray(p, np.float64) for p in per_scene])  # (scenes, 3, bands)
    record = {"bands": list(bands), "scenes": len(per_scene), "median": {}}
    for i, p in enumerate(PERCENTILES):
        record[f"p{p}"] = [[round(float(lo), 4), round(float(hi), 4)]
                           for lo, hi in zip(stacked[:, i].min(axis=0), stacked[:, i].max(axis=0))]
        record["median"][f"p{p}"] = [round(float(v), 4) for v in np.median(stacked[:, i], axis=0)]
    record["per_scene"] = [[[round(float(v), 2) for v in row] for row in scene] for scene in stacked]
    return record


def _nearest(record: dict, q: np.ndarray, bands: np.ndarray) -> float:
    """How far the input is from the nearest training scene: the smallest over the scenes of the largest factor
    (as a natural log) between one of the input's percentiles of ``bands`` and the scene's."""
    scenes = np.asarray(record.get("per_scene") or [], np.float64)
    if not len(scenes):
        return math.inf
    gaps = np.abs(np.log((np.maximum(q, 0) + 1) / (np.maximum(scenes, 0) + 1)))[:, :, bands]
    return float(gaps.reshape(len(scenes), -1).max(axis=1).min())


def _flags(record: dict, q: np.ndarray) -> List[Optional[str]]:
    flags = []
    for b in range(q.shape[1]):
        (lo2, hi2), (lo50, hi50), (lo98, hi98) = (record[f"p{p}"][b] for p in PERCENTILES)
        q2, q50, q98 = q[:, b]
        if q50 > MEDIAN_FACTOR * max(hi50, 1e-12) or q2 > hi98:
            flags.append("above")
        elif q50 < lo50 / MEDIAN_FACTOR or q98 < lo2:
            flags.append("below")
        elif q2 > max(DARK_FACTOR * hi2, hi2 + DARK_MARGIN):
            flags.append("dark")
        else:
            flags.append(None)
    return flags


def _typical(record: dict, p: int) -> np.ndarray:
    """Per band, the middle (geometric) of the training scenes' range of percentile ``p``."""
    return np.array([math.sqrt(max(lo, 1e-12) * max(hi, 1e-12)) for lo, hi in record[f"p{p}"]])


def _ratio(record: dict, q: np.ndarray) -> float:
    """How many times the training's typical level the input's median is (geometric mean over the bands)."""
    ratios = np.maximum(q[1], 1e-12) / _typical(record, 50)
    return float(np.exp(np.mean(np.log(ratios))))


def _offset(record: dict, q: np.ndarray) -> Optional[float]:
    """The value added to every band, when the input looks like a typical training scene plus a constant. Seen in
    the bands whose dark end (2nd percentile) is near 0 in a typical training scene (median over the scenes under
    ``OFFSET_SHIFT[0]``: visible and short-wave infrared bands, where shade and water are dark; not the near
    infrared over vegetation): each of their dark ends 500 to 2000 above the training's median one, by nearly the
    same amount (within half of it), their spread (98th minus 2nd percentile) within a factor 2 of the training's,
    and no training scene whose percentiles in those bands are all within a factor 1.5 of the input's (a model
    trained on Level-1C scenes has seen the path radiance that lifts their dark ends). Haze and L1C's path radiance
    raise the blue more than the red; snow and cloud widen the spread. None otherwise."""
    middle = record.get("median")
    if not middle:
        return None
    dark, bright = np.asarray(middle["p2"]), np.asarray(middle["p98"])
    seen = dark < OFFSET_SHIFT[0]
    if not seen.any():
        return None
    shifts = (q[0] - dark)[seen]
    spread = float(np.median(((q[2] - q[0]) / np.maximum(bright - dark, 1e-12))[seen]))
    shift = float(np.median(shifts))
    uniform = float(shifts.max() - shifts.min()) <= 0.5 * shift
    inside = OFFSET_SHIFT[0] <= shifts.min() and shifts.max() <= OFFSET_SHIFT[1]
    unseen = _nearest(record, q, np.flatnonzero(seen)) > math.log(OFFSET_UNSEEN)
    return shift if inside and uniform and unseen and 0.5 <= spread <= 2 else None


def _cause(flags: Sequence[Optional[str]], record: dict, q: np.ndarray, levels: Sequence[str]) -> str:
    trained = f" (trained on {', '.join(levels)})" if levels else ""
    kinds = [f for f in flags if f]
    ratio = _ratio(record, q)
    if kinds.count("above") + kinds.count("dark") >= kinds.count("below"):
        if ratio >= 1000:
            return (f"values about {ratio:.3g} times those it was trained on{trained}: reflectance scaled by 10000 "
                    "given to a model of 0-1 reflectance?")
        return (f"values about {ratio:.3g} times those it was trained on{trained}: digital numbers (Level-1 DN) given "
                "to a model trained on reflectance, another sensor or scaling, or a scene brighter than any it was "
                "trained on?")
    if ratio <= 1e-3:
        return (f"values about 1/{1 / ratio:.3g} of those it was trained on{trained}: reflectance of 0-1 given to a "
                "model trained on reflectance x 10000?")
    return (f"values about 1/{1 / ratio:.3g} of those it was trained on{trained}: another sensor or scaling (8-bit "
            "images, reflectance given to a model trained on digital numbers)?")


def out_of_range(record: dict, q: np.ndarray, levels: Sequence[str] = ()) -> Optional[str]:
    """Why an input whose percentiles are ``q`` (3, bands) is far from the training statistics ``record`` of the
    model input it feeds, or None when it is not (see the module's rule)."""
    q = np.asarray(q, np.float64)
    if q.ndim != 2 or q.shape != (len(PERCENTILES), len(record.get("bands", ()))) or not np.isfinite(q).all():
        return None
    trained = f" (trained on {', '.join(levels)})" if levels else ""
    shift = _offset(record, q)
    if shift is not None:
        toa = "" if any("L1" in level for level in levels) else (", or top-of-atmosphere values (Level-1C) given to a "
                                                                 "model trained on surface reflectance only")
        return (f"every band looks shifted by about {shift:+.0f} from the data it was trained on{trained}: an offset "
                "not removed (Sentinel-2 L2A from processing baseline 04.00 adds 1000; give the product, whose reader "
                f"removes it){toa}?")
    flags = _flags(record, q)
    flagged = [record["bands"][b] for b, f in enumerate(flags) if f]
    if len(flagged) * 2 <= len(flags):
        return None
    return f"band(s) {' '.join(flagged)} far from the statistics of its training data; {_cause(flags, record, q, levels)}"


def statistics_record(inputs: Sequence[dict], levels: Sequence[str] = ()) -> Dict[str, object]:
    """The ``statistics`` of a model's metadata: one ``envelope`` per input (in the model's input order) and the
    product levels of the training scenes."""
    return {"percentiles": list(PERCENTILES), "levels": sorted(set(levels)), "inputs": list(inputs)}

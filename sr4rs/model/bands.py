"""Bands matched by name: an image whose bands are named (GeoTIFF band descriptions, a product's bands) and a
model that names its inputs' bands are put together by those names, whatever the order of either.

Two names match when they share a key: the whole name, or one of its words, case ignored and band numbers
written without their leading zeros (``B04`` is ``B4``; ``B4 red`` matches ``B4`` and ``red``); else when one known
sensor gives both names to the same bands (``red green blue nir`` are Sentinel-2's ``B4 B3 B2 B8``). Unnamed bands
(no description, or GDAL's and sr4rs's ``band1``, ``Band 2``) are taken in their order, as are names of another
kind than the model's (colours against band numbers): a line says so. Names of the same kind that disagree are
refused, naming both lists.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import FrozenSet, Optional, Sequence, Tuple

from ..errors import ModelError

_WORDS = re.compile(r"[\s,;:/()_]+")
_BAND_NUMBER = re.compile(r"b0*(\d+)([a-z]?)")
_GENERIC = re.compile(r"band[\s_]*\d+")


def _key(word: str) -> str:
    found = _BAND_NUMBER.fullmatch(word)
    return f"b{found.group(1)}{found.group(2)}" if found else word


def keys(name: str) -> FrozenSet[str]:
    """The keys a band name matches by: the whole name and each word, lower case, band numbers unpadded."""
    text = name.strip().lower()
    return frozenset(_key(w) for w in [text, *_WORDS.split(text)] if w)


def is_named(names: Sequence[str]) -> bool:
    """Whether every band has a name of its own (not empty, not a generic ``band1``)."""
    return bool(names) and all(n and n.strip() and not _GENERIC.fullmatch(n.strip().lower()) for n in names)


def _is_band_number(name: str) -> bool:
    first = _WORDS.split(name.strip().lower())[0]
    return bool(_BAND_NUMBER.fullmatch(first))


def find(have: Sequence[str], want: Sequence[str]) -> Tuple[Optional[int], ...]:
    """For each band of ``want``, its index in ``have`` (None: not found, or found more than once even by its
    first word)."""
    found = []
    for name in want:
        hits = [i for i, h in enumerate(have) if keys(h) & keys(name)]
        if len(hits) > 1:
            first = _key(_WORDS.split(name.strip().lower())[0])
            hits = [i for i in hits if _key(_WORDS.split(have[i].strip().lower())[0]) == first]
        found.append(hits[0] if len(hits) == 1 else None)
    return tuple(found)


def permutation(have: Sequence[str], want: Sequence[str]) -> Optional[Tuple[int, ...]]:
    """The order that puts bands named ``have`` into the order ``want`` (indexes into ``have``), or None when the
    two are not the same bands."""
    if len(have) != len(want) or not is_named(have) or not is_named(want):
        return None
    found = find(have, want)
    if None in found or len(set(found)) != len(found):
        found = _by_sensor(have, want)
    if None in found or len(set(found)) != len(found):
        return None
    return tuple(found)


def _by_sensor(have: Sequence[str], want: Sequence[str]) -> Tuple[Optional[int], ...]:
    """The names one known sensor gives the same bands (``red`` and ``nir`` are Sentinel-2's B4 and B8), through
    ``sr4rs.io.sensors.match_bands``; (None,) where no sensor matches them all."""
    from ..errors import InputError
    from ..io.sensors import match_bands

    try:
        return tuple(match_bands(have, want))
    except InputError:
        return (None,)


@dataclass(frozen=True)
class BandOrder:
    """How an image's bands go into a model input: ``indexes`` (from 0) when they are reordered, else None;
    ``note``: the one line saying what was done (None when the bands go in as they are, silently)."""

    indexes: Optional[Tuple[int, ...]] = None
    note: Optional[str] = None


def order(have: Sequence[str], want: Sequence[str], image: str, model: str) -> BandOrder:
    """How the bands ``have`` of ``image`` go into the input of ``model`` that takes ``want``. Band counts that
    differ are left to the checks that follow (they name both counts)."""
    if len(have) != len(want) or not is_named(have) or not is_named(want):
        return BandOrder()
    found = permutation(have, want)
    if found is not None:
        if found == tuple(range(len(want))):
            return BandOrder()
        return BandOrder(found, f"{image}: bands {', '.join(have)} read in the order of model {model}: "
                                f"{', '.join(have[i] for i in found)}")
    shared = [i for i in find(have, want) if i is not None]
    same_kind = all(map(_is_band_number, have)) == all(map(_is_band_number, want))
    if shared or same_kind:
        raise ModelError(f"{image} has bands {', '.join(have)} but model {model} takes {', '.join(want)}: give "
                         "an image of the model's bands (--bands picks them by name or number), or another model")
    return BandOrder(None, f"{image}: bands {', '.join(have)} taken in their order as model {model}'s "
                           f"{', '.join(want)} (names of another kind: check that the order is the model's)")


def put_in_order(path: str, want: Sequence[str], model: str, label: Optional[str] = None) -> Tuple[str, Optional[str]]:
    """What GDAL reads for the raster ``path`` going into a model input that takes the bands ``want``: the raster
    itself, or a virtual raster of its bands in the model's order; and the line saying so (None: nothing to say).
    ``label``: how messages name the image (default: its path)."""
    from ..io.products import select_bands
    from ..io.rasters import read_info

    info = read_info(path)
    have = tuple(info.descriptions) if info.descriptions else ()
    found = order(have, tuple(want), f"'{label or path}'", model)
    if found.indexes is None:
        return path, found.note
    return select_bands(path, [str(i + 1) for i in found.indexes]), found.note

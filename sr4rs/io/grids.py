"""Images of one area at several resolutions (a fusion model's inputs, a fusion patch set's or a fusion
evaluation's images), checked together before any work by one rule that apply, extract, evaluate and the API
share: every image georeferenced, all in one CRS, each coarser image's pixels unions of the finest image's from
the same corner. Messages name the images as the user gave them and say which one to fix."""
from __future__ import annotations

from typing import List, Sequence

from ..errors import InputError, shown
from ..geo.pairs import Grid, check_nesting
from .source import RasterInfo
from .vectors import crs_code, crs_name, crs_unit, same_crs


def _grid(info: RasterInfo) -> Grid:
    return Grid(info.width, info.height, tuple(info.geotransform), shown(info.path))


def check_georeferenced(info: RasterInfo, finest: RasterInfo) -> None:
    """An InputError unless ``info`` has a geotransform (and a CRS where ``finest`` has one): its place against
    ``finest`` is checked."""
    lacks = [what for what, has in (("geotransform", info.geotransform),
                                    ("CRS", info.projection or not finest.projection)) if not has]
    if lacks:
        against = "" if info is finest else f" against {shown(finest.path)}"
        how = "give MemorySource its geotransform and projection" if info.path.startswith("<") else \
            "georeference it (gdal_edit.py -a_srs EPSG:CODE -a_ullr ULX ULY LRX LRY)"
        raise InputError(f"{shown(info.path)} has no {' and no '.join(lacks)}, so its place{against} cannot be "
                         f"checked: {how}, or give the bands as the product delivers them")


def check_stack(infos: Sequence[RasterInfo]) -> List[int]:
    """Each image's pixel size in units of the first's (the finest, 1 first), after checking the images
    together: georeferenced (a geotransform each; a CRS each, or none at all, as arrays may come), one CRS,
    nested grids from one corner, finest first."""
    first = next((i for i in infos if i.projection), infos[0])  # a CRS, where any has one, is expected of all
    for info in infos:
        check_georeferenced(info, first)
    first = infos[0]
    for info in infos[1:]:
        if not same_crs(info.projection, first.projection):
            raise InputError(f"{shown(info.path)} is in {crs_name(info.projection)} but {shown(first.path)} in "
                             f"{crs_name(first.projection)}: images of several resolutions must share their CRS; "
                             f"reproject the first into the second's CRS (gdalwarp -t_srs "
                             f"{crs_code(first.projection)}), or give the bands of one product")
    unit = crs_unit(first.projection)
    factors = [1]
    for before, info in zip(infos, infos[1:]):
        factor = check_nesting(_grid(info), _grid(first), unit)
        if factor <= factors[-1]:
            raise InputError(f"the images must go from the finest resolution to the coarsest: {shown(info.path)} "
                             f"is {factor} times coarser than {shown(first.path)}, after {shown(before.path)}, "
                             f"{factors[-1]} times coarser")
        factors.append(factor)
    return factors

"""LR/HR grid pairs: integer pixel size ratio, aligned grids, overlap; the one pair-check rule that
extract, train and evaluate use. Pure: images are described by ``Grid`` (size and geotransform)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from ..errors import InputError
from .windows import Window, scaled_geotransform

# A pixel size ratio closer than this (relative) to an integer is that integer:
# pixel sizes written with 8 significant digits (3.3333333 m) must still pass.
_RATIO_TOLERANCE = 1e-6
# Grids whose origins differ by less than this many HR pixels are aligned (float noise of warps).
_ALIGN_TOLERANCE = 1e-3
# Pixel coordinates stand in for the geotransform of an image that has none.
PIXEL_GRID = (0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


@dataclass(frozen=True)
class Grid:
    """The pixel grid of an image: size in pixels and GDAL geotransform."""

    width: int
    height: int
    geotransform: Tuple[float, ...]
    name: str = "image"

    @property
    def bounds(self) -> Tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in map units, for a north-up grid."""
        x0, dx, _, y0, _, dy = self.geotransform
        xs = (x0, x0 + dx * self.width)
        ys = (y0, y0 + dy * self.height)
        return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True)
class PairGeometry:
    """How an LR grid maps onto an aligned HR grid ``ratio`` times finer.

    ``col_offset``/``row_offset``: the HR pixel holding the LR origin, so LR pixel
    (c, r) covers HR pixels [c*ratio + col_offset, (c+1)*ratio + col_offset) (same in rows).
    """

    ratio: int
    col_offset: int
    row_offset: int
    lr: Grid
    hr: Grid

    def hr_window(self, lr_window: Window) -> Window:
        """The HR window covering the same ground as ``lr_window``."""
        w = lr_window.scaled(self.ratio)
        return Window(w.col_off + self.col_offset, w.row_off + self.row_offset, w.width, w.height)

    def is_inside(self, lr_window: Window) -> bool:
        """Whether ``lr_window`` and its HR window lie wholly inside their images."""
        return (lr_window.inside(self.lr.width, self.lr.height)
                and self.hr_window(lr_window).inside(self.hr.width, self.hr.height))


def _check_north_up(grid: Grid) -> None:
    _, dx, rx, _, ry, dy = grid.geotransform
    if rx or ry:
        raise InputError(f"{grid.name} has a rotated geotransform (terms {rx}, {ry}): "
                         "warp it north-up first (gdalwarp)")
    if dx <= 0 or dy == 0:
        raise InputError(f"{grid.name} has an unusable pixel size ({dx}, {dy}): fix its georeferencing")


def _integer_ratio(lr_size: float, hr_size: float, axis: str, lr: Grid, hr: Grid) -> int:
    ratio = abs(lr_size) / abs(hr_size)
    whole = round(ratio)
    if whole < 1 or abs(ratio - whole) > _RATIO_TOLERANCE * max(ratio, 1.0):
        hint = " (are --lr and --hr swapped?)" if ratio < 1 else ""
        raise InputError(f"LR/HR pixel size ratio is {ratio:.6g} in {axis} ({lr.name} {abs(lr_size):.6g}, "
                         f"{hr.name} {abs(hr_size):.6g}): the HR pixel size must divide the LR pixel size "
                         f"a whole number of times{hint}; resample the HR image (gdalwarp -tr)")
    return int(whole)


def check_overlap(lr: Grid, hr: Grid) -> None:
    """An InputError unless the two footprints share some ground."""
    a, b = lr.bounds, hr.bounds
    if min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1]):
        raise InputError(f"{lr.name} (x {a[0]:.6g}..{a[2]:.6g}, y {a[1]:.6g}..{a[3]:.6g}) and {hr.name} "
                         f"(x {b[0]:.6g}..{b[2]:.6g}, y {b[1]:.6g}..{b[3]:.6g}) do not overlap: "
                         "give images of the same area")


def check_pair(lr: Grid, hr: Grid, unit: str = "m") -> PairGeometry:
    """Ratio, alignment and overlap of an LR/HR pair (same CRS assumed); an InputError if unusable.

    ``unit`` names the map unit in messages (``m`` for projected CRSs).
    """
    _check_north_up(lr)
    _check_north_up(hr)
    lx0, ldx, _, ly0, _, ldy = lr.geotransform
    hx0, hdx, _, hy0, _, hdy = hr.geotransform
    if (ldy > 0) != (hdy > 0):
        raise InputError(f"{lr.name} and {hr.name} have opposite row directions (pixel heights {ldy}, {hdy}): "
                         "warp both north-up (gdalwarp)")
    rx = _integer_ratio(ldx, hdx, "x", lr, hr)
    ry = _integer_ratio(ldy, hdy, "y", lr, hr)
    if rx != ry:
        raise InputError(f"LR/HR pixel size ratio differs between x ({rx}) and y ({ry}): "
                         "resample the HR image to square ratios (gdalwarp -tr)")
    if rx == 1:
        raise InputError(f"{lr.name} and {hr.name} have the same pixel size ({abs(ldx):.6g}), ratio 1: "
                         "give an HR image finer than the LR image, or one image with --factor")
    check_overlap(lr, hr)
    # The HR origin in HR pixels from the LR origin: a whole number makes LR pixels unions of HR pixels.
    col = (hx0 - lx0) / hdx
    row = (hy0 - ly0) / hdy
    frac_c, frac_r = col - round(col) + 0.0, row - round(row) + 0.0  # + 0.0: no "-0.000" in messages
    if abs(frac_c) > _ALIGN_TOLERANCE or abs(frac_r) > _ALIGN_TOLERANCE:
        raise InputError(f"{hr.name} grid is not aligned with {lr.name} grid: the HR origin is "
                         f"{frac_c:+.3f} x {frac_r:+.3f} HR pixels ({frac_c * abs(hdx):+.4g} x "
                         f"{frac_r * abs(hdy):+.4g} {unit}) off a whole number of HR pixels from the LR origin: "
                         "resample the HR image onto a grid aligned with the LR one "
                         "(gdalwarp -te with the LR bounds and -tr)")
    return PairGeometry(rx, -int(round(col)), -int(round(row)), lr, hr)


def check_nesting(coarse: Grid, fine: Grid, unit: str = "m") -> int:
    """How many times coarser ``coarse`` is than ``fine`` when its pixels are unions of ``fine``'s from the same
    corner: the rule of images of one area at several resolutions (a fusion model's inputs, a fusion patch set's
    images, same CRS assumed). An InputError in those words otherwise: it is the coarser image that is off."""
    _check_north_up(coarse)
    _check_north_up(fine)
    cx0, cdx, _, cy0, _, cdy = coarse.geotransform
    fx0, fdx, _, fy0, _, fdy = fine.geotransform
    if (cdy > 0) != (fdy > 0):
        raise InputError(f"{coarse.name} and {fine.name} have opposite row directions (pixel heights {cdy:g}, "
                         f"{fdy:g}): warp both north-up (gdalwarp)")
    rx, ry = abs(cdx) / abs(fdx), abs(cdy) / abs(fdy)
    whole = round(rx)
    if whole <= 1 or any(abs(r - whole) > _RATIO_TOLERANCE * r for r in (rx, ry)):
        order = " (give the images from the finest resolution to the coarsest)" if rx <= 1 else ""
        raise InputError(f"{coarse.name} has {abs(cdx):.6g} x {abs(cdy):.6g} {unit} pixels and {fine.name} "
                         f"{abs(fdx):.6g} x {abs(fdy):.6g} {unit}: a coarser image's pixels must be a whole number "
                         f"(2 or more) of the finest image's{order}; give the bands at their native resolutions")
    check_overlap(coarse, fine)
    dx, dy = cx0 - fx0, cy0 - fy0  # the coarse corner from the fine one, in map units
    if max(abs(dx / fdx), abs(dy / fdy)) > _ALIGN_TOLERANCE:
        raise InputError(f"{coarse.name} does not start at the corner of {fine.name}: its corner is "
                         f"{dx:+.6g} x {dy:+.6g} {unit} away ({dx / abs(fdx):+.3g} x {dy / abs(fdy):+.3g} fine "
                         f"pixels): give the bands of one area as the product delivers them, or resample "
                         f"{coarse.name} onto a grid starting at that corner (gdalwarp -te with its bounds and -tr "
                         f"{abs(cdx):g} {abs(cdy):g})")
    return int(whole)


def nesting_shift(coarse: Grid, fine: Grid) -> Tuple[float, float]:
    """How far (in map units, x and y) the coarse grid's origin must move for its pixels to be unions of the fine
    grid's pixels, when the grids are half a fine pixel apart: products that register the centres of their bands'
    pixels (Landsat, SPOT 6/7) put the 15 m panchromatic grid 7.5 m off the 30 m one. (0, 0) when they nest
    already, or when they are off by another fraction (a misregistration, which ``check_pair`` refuses)."""
    cx0, _, _, cy0, _, _ = coarse.geotransform
    fx0, fdx, _, fy0, _, fdy = fine.geotransform
    col, row = (fx0 - cx0) / fdx, (fy0 - cy0) / fdy
    fracs = [v - round(v) for v in (col, row)]
    if any(_ALIGN_TOLERANCE < abs(f) < 0.5 - _ALIGN_TOLERANCE for f in fracs):
        return 0.0, 0.0
    shift_c, shift_r = (f if abs(f) > _ALIGN_TOLERANCE else 0.0 for f in fracs)
    return shift_c * fdx + 0.0, shift_r * fdy + 0.0


def wald_geometry(hr: Grid, factor: int) -> PairGeometry:
    """The geometry of Wald's protocol: a virtual LR grid ``factor`` times coarser on the HR origin."""
    check_factor(factor)
    width, height = hr.width // factor, hr.height // factor
    if width < 1 or height < 1:
        raise InputError(f"{hr.name} ({hr.width} x {hr.height}) is smaller than --factor {factor}: "
                         "give a larger image or a smaller factor")
    lr = Grid(width, height, scaled_geotransform(hr.geotransform, factor, finer=False), "degraded LR")
    return PairGeometry(factor, 0, 0, lr, hr)




def check_factor(factor) -> int:
    if isinstance(factor, bool) or int(factor) != factor or factor < 2:
        raise InputError(f"--factor must be an integer >= 2, received {factor!r}: e.g. --factor 4")
    return int(factor)


def check_same_corner_pair(lr: Grid, hr: Grid, georeferenced: bool) -> int:
    """The factor of a true LR/HR pair for scoring: the LR image covers the HR image's first
    (LR size x factor) pixels from the same upper-left corner. Georeferenced pairs follow
    ``check_pair``'s rule (integer ratio, aligned grids); others are paired by their sizes."""
    if georeferenced:
        geometry = check_pair(lr, hr)
        if geometry.col_offset or geometry.row_offset:
            raise InputError(f"{hr.name} starts {-geometry.col_offset} x {-geometry.row_offset} HR pixels away from "
                             f"{lr.name}: give co-registered pairs with the same upper-left corner "
                             "(gdal_translate -srcwin)")
        factor = geometry.ratio
    else:
        factor = max(1, round(hr.width / lr.width))
    if hr.width // factor != lr.width or hr.height // factor != lr.height or factor < 2:
        raise InputError(f"{hr.name} ({hr.width} x {hr.height}) is not {factor if factor >= 2 else '2 or more'} "
                         f"times the size of {lr.name} ({lr.width} x {lr.height}): give pairs covering the same "
                         "ground")
    return factor

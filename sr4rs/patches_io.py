"""GDAL/OGR side of patches: cut LR/HR patch pairs into OTBTF patches images, and read them back.

A patches image stacks N square P x P patches vertically (width P, height N*P,
patch k in rows k*P..(k+1)*P), all bands; the LR and HR files of an extraction
hold the same patches in the same order. Beside each image, ``<stem>.csv``
gives each patch's centre in map coordinates (and its top-left pixel in the
source grid). With a validation split, ``lr.tif`` becomes ``lr_train.tif``
and ``lr_val.tif`` (and so on for HR and the CSVs).
"""
from __future__ import annotations

import math
import os
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal, ogr, osr

from . import raster
from .degrade import SIGMA_PER_FACTOR, degrade
from .errors import InputError, OutputError
from .patches import (Grid, PairGeometry, PatchesDescription, PatchesLayout, centres_path, check_file_lists,
                      check_pair, check_patch_content, check_patch_size, check_val_fraction, describe_layouts,
                      grid_windows, has_nodata, inside, layout_from_shape, point_windows, split_indices,
                      split_path, wald_geometry, window_centre)
from .windows import Window

# Only GDAL raises: ogr/osr.UseExceptions() would stack above GDAL's and break raster.AtomicWriter,
# which toggles GDAL's exceptions to read close errors; ogr/osr results are checked here instead.
gdal.UseExceptions()

Progress = Callable[[int], None]

# The scan for all-fill patches reads this many bytes of a patches file at a time.
_SCAN_BYTES = 64 * 1024 ** 2
# scipy's gaussian_filter reaches truncate * sigma pixels (its default truncate).
_GAUSS_TRUNCATE = 4.0


# --- reading patches images --------------------------------------------------------------------

def _open_patches(path: str) -> gdal.Dataset:
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise InputError(f"patches file '{path}' is empty (0 bytes): extract patches again with sr4rs extract")
    return raster._open(path)


def _layout(ds: gdal.Dataset, path: str) -> PatchesLayout:
    from osgeo import gdal_array

    band = ds.GetRasterBand(1)
    names = tuple(ds.GetRasterBand(i + 1).GetDescription() for i in range(ds.RasterCount))
    dtype = gdal_array.GDALTypeCodeToNumericTypeCode(band.DataType)
    return layout_from_shape(path, ds.RasterXSize, ds.RasterYSize, ds.RasterCount, dtype, names)


def read_layout(path: str) -> PatchesLayout:
    """Patch count, size, bands and dtype of one patches image (header only)."""
    return _layout(_open_patches(path), path)


class PatchesReader:
    """Reads patches of one patches image by index, through a handle of its own (one per thread)."""

    def __init__(self, path: str):
        self.path = path
        self._ds = _open_patches(path)
        self.layout = _layout(self._ds, path)
        self.nodata = self._ds.GetRasterBand(1).GetNoDataValue()

    def read(self, start: int, count: int = 1) -> np.ndarray:
        """Patches ``start``..``start + count`` as (count, P, P, C), in the file's dtype."""
        p, c = self.layout.size, self.layout.bands
        arr = self._ds.ReadAsArray(0, start * p, p, count * p)
        arr = arr.reshape(c, count, p, p)  # (C, N*P, P) -> (C, N, P, P): rows of patch k are contiguous
        return np.ascontiguousarray(np.transpose(arr, (1, 2, 3, 0)))

    def check_content(self) -> None:
        """An InputError at the first patch that is all fill or holds NaN; reads in bounded chunks."""
        lay = self.layout
        chunk = max(1, _SCAN_BYTES // (lay.size * lay.size * lay.bands * lay.dtype.itemsize))
        for start in range(0, lay.count, chunk):
            n = min(chunk, lay.count - start)
            check_patch_content(self.read(start, n), self.path, start, self.nodata)

    def close(self) -> None:
        self._ds = None


def read_patches(path: str) -> np.ndarray:
    """All patches of an OTBTF patches image as (N, P, P, C), in the file's dtype."""
    reader = PatchesReader(path)
    try:
        return reader.read(0, reader.layout.count)
    finally:
        reader.close()


def describe_patches(lr_files: Sequence[str], hr_files: Sequence[str],
                     check_content: bool = False) -> PatchesDescription:
    """Count, LR/HR patch sizes, bands, ratio and dtypes of LR/HR patches files, checked to pair up.

    Reads headers only, unless ``check_content`` (one pass over the files, in bounded
    memory) where all-fill or NaN patches are also refused. Any problem is an InputError
    naming the file.
    """
    lr_files, hr_files = _as_list(lr_files), _as_list(hr_files)
    check_file_lists(lr_files, hr_files)
    description = describe_layouts([(read_layout(lr), read_layout(hr)) for lr, hr in zip(lr_files, hr_files)])
    if check_content:
        for path in lr_files + hr_files:
            reader = PatchesReader(path)
            try:
                reader.check_content()
            finally:
                reader.close()
    return description


def _as_list(files) -> List[str]:
    if isinstance(files, (str, os.PathLike)):
        return [os.fspath(files)]
    return [os.fspath(f) for f in files]


# --- CRS and points ----------------------------------------------------------------------------

def _srs(wkt: str) -> Optional[osr.SpatialReference]:
    if not wkt:
        return None
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)  # x = easting/longitude always
    return srs


def _crs_name(srs: Optional[osr.SpatialReference]) -> str:
    if srs is None:
        return "no CRS"
    code = srs.GetAuthorityCode(None)
    return f"{srs.GetName()} (EPSG:{code})" if code else srs.GetName()


def check_same_crs(lr: raster.RasterInfo, hr: raster.RasterInfo) -> None:
    """An InputError unless both images have the same CRS (or neither has one)."""
    a, b = _srs(lr.projection), _srs(hr.projection)
    if a is None and b is None:
        return
    if a is None or b is None:
        lacking = lr.path if a is None else hr.path
        raise InputError(f"'{lacking}' has no CRS but {'HR' if a is None else 'LR'} "
                         f"'{hr.path if a is None else lr.path}' is in {_crs_name(b if a is None else a)}: "
                         "assign it the CRS it is in (gdal_edit.py -a_srs EPSG:...)")
    if not a.IsSame(b):
        raise InputError(f"LR '{lr.path}' is in {_crs_name(a)} but HR '{hr.path}' in {_crs_name(b)}: "
                         "reproject one onto the other's CRS and grid (gdalwarp -t_srs -tr -te)")


def _unit(srs: Optional[osr.SpatialReference]) -> str:
    if srs is None:
        return "map units"
    if srs.IsGeographic():
        return "degrees"
    name = srs.GetLinearUnitsName() or "map units"
    return "m" if name.lower() in ("metre", "meter", "m") else name


def read_points(path: str, image_wkt: str) -> List[Tuple[float, float]]:
    """(x, y) of every point of the first layer of a vector file, in the image's CRS.

    Features without geometry are ignored; points that cannot be reprojected come back as NaN
    (later skipped as outside). Any other geometry type is an InputError.
    """
    if not os.path.exists(path):
        raise InputError(f"points file '{path}' does not exist: check --points")
    gdal.PushErrorHandler("CPLQuietErrorHandler")  # the reason, if any, goes into our one-line message
    try:
        ds = ogr.Open(path)
        reason = gdal.GetLastErrorMsg()
    finally:
        gdal.PopErrorHandler()
    if ds is None:
        detail = f" ({reason.splitlines()[0]})" if reason else ""
        raise InputError(f"points file '{path}' is not a vector file OGR can read{detail}: "
                         "give a GeoPackage, GeoJSON or shapefile of points")
    if ds.GetLayerCount() == 0:
        raise InputError(f"points file '{path}' holds no layer: give a vector file with a point layer")
    layer = ds.GetLayer(0)
    transform = _points_transform(layer.GetSpatialRef(), _srs(image_wkt))
    points = []
    for feature in layer:
        geom = feature.GetGeometryRef()
        if geom is None or geom.IsEmpty():
            continue
        for x, y in _point_coordinates(geom, feature.GetFID(), path):
            points.append(_transform_point(transform, x, y))
    if not points:
        raise InputError(f"points file '{path}' (layer '{layer.GetName()}') holds no point: "
                         "give a layer of patch centres")
    return points


def _points_transform(layer_srs, image_srs):
    if layer_srs is None or image_srs is None:
        return None  # nothing to reproject from or to: coordinates are taken as the image's
    layer_srs = layer_srs.Clone()
    layer_srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    if layer_srs.IsSame(image_srs):
        return None
    transform = osr.CoordinateTransformation(layer_srs, image_srs)
    if transform is None:
        raise InputError(f"points in {_crs_name(layer_srs)} cannot be reprojected to the image's "
                         f"{_crs_name(image_srs)}: reproject the points file (ogr2ogr -t_srs)")
    return transform


def _point_coordinates(geom, fid: int, path: str):
    kind = ogr.GT_Flatten(geom.GetGeometryType())
    if kind == ogr.wkbPoint:
        return [(geom.GetX(), geom.GetY())]
    if kind == ogr.wkbMultiPoint:
        return [(geom.GetGeometryRef(i).GetX(), geom.GetGeometryRef(i).GetY())
                for i in range(geom.GetGeometryCount())]
    raise InputError(f"feature {fid} of '{path}' is a {geom.GetGeometryName()}, not a point: "
                     "give a point layer (e.g. centroids: ogr2ogr -dialect sqlite -sql "
                     "\"SELECT ST_Centroid(geometry) FROM layer\")")


def _transform_point(transform, x: float, y: float) -> Tuple[float, float]:
    if transform is None:
        return float(x), float(y)
    try:
        tx, ty, *_ = transform.TransformPoint(x, y)
    except RuntimeError:
        return math.nan, math.nan
    return (tx, ty) if math.isfinite(tx) and math.isfinite(ty) else (math.nan, math.nan)


# --- planning ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExtractionPlan:
    """What to cut, checked: the pair geometry and the candidate LR windows, in output order.

    ``lr_path`` is None in Wald mode (LR made by degrading the HR image by ``geometry.ratio``).
    """

    lr_path: Optional[str]
    hr_path: str
    geometry: PairGeometry
    patch_size: int
    windows: Tuple[Window, ...]
    lr_info: Optional[raster.RasterInfo]
    hr_info: raster.RasterInfo
    lr_nodata: Optional[float]
    hr_nodata: Optional[float]

    @property
    def wald(self) -> bool:
        return self.lr_path is None

    @property
    def ratio(self) -> int:
        return self.geometry.ratio

    @property
    def hr_patch_size(self) -> int:
        return self.patch_size * self.ratio

    @property
    def work(self) -> int:
        """Progress steps of ``extract``: a check and a write (or skip) per candidate."""
        return 2 * len(self.windows)


def _grid(info: raster.RasterInfo, role: str, needed_for: Optional[str], alternative: str = "") -> Grid:
    gt = info.geotransform
    if gt is None:
        if needed_for:
            raise InputError(f"{role} '{info.path}' has no geotransform, needed for {needed_for}: "
                             f"georeference it (gdal_edit -a_ullr -a_srs){alternative}")
        gt = (0.0, 1.0, 0.0, 0.0, 0.0, 1.0)  # pixel coordinates
    return Grid(info.width, info.height, tuple(gt), f"{role} '{info.path}'")


def plan_extraction(lr_path: Optional[str], hr_path: str, patch_size: int, step: Optional[int] = None,
                    points: Optional[str] = None, factor: Optional[int] = None,
                    nodata: Optional[float] = None) -> ExtractionPlan:
    """Check the inputs and place the patches; reads no pixel.

    Pair mode (``lr_path`` given): same CRS, overlap, integer pixel size ratio (equal to
    ``factor`` if given) and aligned grids are required. Wald mode (``lr_path`` None):
    ``factor`` is required and the LR image is the HR image degraded. Patches come from a
    grid of ``patch_size`` every ``step`` LR pixels over the LR image, or are centred on the
    points of the vector file ``points``. ``nodata`` applies to an image without nodata tag.
    """
    hr_info = raster.read_info(hr_path)
    if lr_path is None:
        if factor is None:
            raise InputError("no --lr image and no --factor: give --lr, or --factor to make the LR side "
                             "by degrading the HR image (Wald's protocol)")
        lr_info = None
        geometry = wald_geometry(_grid(hr_info, "HR", "--points" if points is not None else None), factor)
        crs_wkt = hr_info.projection
    else:
        lr_info = raster.read_info(lr_path)
        check_same_crs(lr_info, hr_info)
        pairing = ("pairing LR and HR pixels", ", or give only --hr with --factor")
        geometry = check_pair(_grid(lr_info, "LR", *pairing), _grid(hr_info, "HR", *pairing),
                              unit=_unit(_srs(lr_info.projection)))
        if factor is not None and factor != geometry.ratio:
            raise InputError(f"--factor {factor} but the images' pixel size ratio is {geometry.ratio}: "
                             f"drop --factor or pass --factor {geometry.ratio}")
        crs_wkt = lr_info.projection
    lr = geometry.lr
    patch_size, step = check_patch_size(patch_size, step, lr.width, lr.height, lr.name)
    if points is not None:
        windows = point_windows(read_points(points, crs_wkt), lr.geotransform, patch_size)
    else:
        windows = grid_windows(lr.width, lr.height, patch_size, step)
    if not windows:
        raise InputError(f"no patch of {patch_size} pixels fits the {lr.name}: lower --patch-size")
    return ExtractionPlan(
        lr_path=lr_path, hr_path=hr_path, geometry=geometry, patch_size=patch_size, windows=tuple(windows),
        lr_info=lr_info, hr_info=hr_info,
        lr_nodata=None if lr_info is None else _nodata(lr_info.nodata, nodata),
        hr_nodata=_nodata(hr_info.nodata, nodata))


def _nodata(tag: Optional[float], flag: Optional[float]) -> Optional[float]:
    return tag if tag is not None else flag  # the file's tag wins, as in apply


# --- cutting ------------------------------------------------------------------------------------

class _PairSource:
    """Reads the LR and HR patch of a window: from two images, or degrading the HR one (Wald)."""

    def __init__(self, plan: ExtractionPlan):
        self.plan = plan
        self.hr = raster.Reader(plan.hr_path)
        self.lr = None if plan.wald else raster.Reader(plan.lr_path)
        if plan.wald:
            f = plan.ratio
            radius = int(_GAUSS_TRUNCATE * f * SIGMA_PER_FACTOR + 0.5)
            self.margin = -(-radius // f)  # LR pixels read around the patch so the blur sees real context
            # degrade() drops the HR rows/columns past a whole number of LR pixels: so do we.
            self.hr_extent = (plan.geometry.lr.width * f, plan.geometry.lr.height * f)

    def is_outside(self, window: Window) -> bool:
        g = self.plan.geometry
        return not (inside(window, g.lr.width, g.lr.height) and inside(g.hr_window(window), g.hr.width, g.hr.height))

    def has_nodata(self, window: Window) -> bool:
        if self.plan.wald:
            return has_nodata(self._wald_hr(window)[1], self.plan.hr_nodata)
        return (has_nodata(self.lr.read(window), self.plan.lr_nodata)
                or has_nodata(self.hr.read(self.plan.geometry.hr_window(window)), self.plan.hr_nodata))

    def read(self, window: Window) -> Tuple[np.ndarray, np.ndarray]:
        """(LR patch, HR patch) for a window inside both images."""
        if self.plan.wald:
            grown, _ = self._wald_hr(window)
            m, f = self.margin, self.plan.ratio
            lr = degrade(grown, f)[m:m + window.height, m:m + window.width]
            hr = grown[m * f:(m + window.height) * f, m * f:(m + window.width) * f]
            return lr, hr
        return self.lr.read(window), self.hr.read(self.plan.geometry.hr_window(window))

    def _wald_hr(self, window: Window) -> Tuple[np.ndarray, np.ndarray]:
        """The HR window grown by the blur margin (mirrored past the edges, as degrade() does on the
        whole image), and its part inside the image."""
        m, f = self.margin, self.plan.ratio
        grown = Window(window.col_off - m, window.row_off - m, window.width + 2 * m, window.height + 2 * m).scaled(f)
        inner = grown.clip(*self.hr_extent)
        arr = self.hr.read(inner)
        top, left = inner.row_off - grown.row_off, inner.col_off - grown.col_off
        bottom, right = grown.height - inner.height - top, grown.width - inner.width - left
        # 'symmetric' repeats the edge pixel, as scipy's 'reflect' mode used by degrade().
        padded = np.pad(arr, ((top, bottom), (left, right), (0, 0)), mode="symmetric")
        return padded, arr

    def close(self) -> None:
        self.hr.close()
        if self.lr is not None:
            self.lr.close()


@dataclass(frozen=True)
class ExtractReport:
    """What ``extract`` did: candidates, kept (train/val) and skipped patches per reason, files written."""

    candidates: int
    kept: int
    train: int
    val: int
    skipped: Dict[str, int]
    patch_size: int
    hr_patch_size: int
    ratio: int
    lr_bands: int
    hr_bands: int
    files: Tuple[str, ...]
    seconds: float = 0.0


@dataclass(frozen=True)
class _Output:
    """One part (all, train or val) of the extraction: its LR/HR paths and patch indices into ``kept``."""

    lr: str
    hr: str
    indices: Tuple[int, ...] = field(default=())


def output_paths(out_lr: str, out_hr: str, val_fraction: float) -> List[_Output]:
    """The LR/HR patches images written for ``out_lr``/``out_hr``: themselves, or *_train and *_val."""
    if val_fraction > 0:
        return [_Output(split_path(out_lr, part), split_path(out_hr, part)) for part in ("train", "val")]
    return [_Output(out_lr, out_hr)]


def _check_outputs(plan: ExtractionPlan, outputs: List[_Output], overwrite: bool) -> None:
    inputs = {os.path.realpath(p) for p in (plan.lr_path, plan.hr_path) if p}
    seen = set()
    for out in outputs:
        for path in (out.lr, out.hr, centres_path(out.lr), centres_path(out.hr)):
            real = os.path.realpath(path)
            if real in inputs:
                raise OutputError(f"output '{path}' is an input image: choose another --out-lr/--out-hr")
            if real in seen:
                raise OutputError(f"output '{path}' is given twice (LR and HR outputs, or their CSVs, "
                                  "share a name): give different --out-lr and --out-hr stems")
            seen.add(real)
            raster.check_output_path(path, overwrite)


def extract(plan: ExtractionPlan, out_lr: str, out_hr: str, val_fraction: float = 0.0, seed: int = 0,
            encoding: str = "auto", overwrite: bool = False, progress: Optional[Progress] = None) -> ExtractReport:
    """Cut the patches of ``plan`` into LR/HR patches images (atomically: nothing is left on error).

    Patches outside either image or holding nodata (in either) are skipped and counted.
    ``val_fraction`` > 0 splits the kept patches at random (``seed``) into ``*_train`` and ``*_val``
    files. ``progress(n)`` advances by ``n`` of ``plan.work`` steps.
    """
    start = time.monotonic()
    val_fraction = check_val_fraction(val_fraction)
    source_lr_dtype = plan.hr_info.dtype if plan.wald else plan.lr_info.dtype
    dtypes = (raster.resolve_encoding(encoding, source_lr_dtype), raster.resolve_encoding(encoding, plan.hr_info.dtype))
    outputs = output_paths(out_lr, out_hr, val_fraction)
    _check_outputs(plan, outputs, overwrite)
    advance = progress or (lambda n: None)
    source = _PairSource(plan)
    try:
        kept, skipped = _scan(plan, source, advance)
        if not kept:
            raise InputError(f"no patch kept out of {len(plan.windows)} ({skipped['outside']} outside an image, "
                             f"{skipped['nodata']} with nodata): choose points or a grid over valid pixels "
                             "of both images")
        train, val = split_indices(len(kept), val_fraction, seed)
        parts = [replace(outputs[0], indices=tuple(train))]
        if val_fraction > 0:
            parts.append(replace(outputs[1], indices=tuple(val)))
        files = _write(plan, source, kept, parts, dtypes, overwrite, advance)
    finally:
        source.close()
    return ExtractReport(candidates=len(plan.windows), kept=len(kept), train=len(train), val=len(val),
                         skipped=skipped, patch_size=plan.patch_size, hr_patch_size=plan.hr_patch_size,
                         ratio=plan.ratio, lr_bands=plan.hr_info.count if plan.wald else plan.lr_info.count,
                         hr_bands=plan.hr_info.count, files=files, seconds=time.monotonic() - start)


def _scan(plan: ExtractionPlan, source: _PairSource, advance: Progress) -> Tuple[List[int], Dict[str, int]]:
    """Indices of the windows to keep, and the count skipped per reason."""
    kept, skipped = [], {"outside": 0, "nodata": 0}
    for i, window in enumerate(plan.windows):
        if source.is_outside(window):
            skipped["outside"] += 1
        elif source.has_nodata(window):
            skipped["nodata"] += 1
        else:
            kept.append(i)
        advance(1)
    advance(len(plan.windows) - len(kept))  # skipped patches have nothing to write
    return kept, skipped


def _writer(path: str, plan: ExtractionPlan, role: str, count: int, dtype: np.dtype, overwrite: bool):
    size = plan.patch_size if role == "lr" else plan.hr_patch_size
    info = plan.hr_info if plan.wald or role == "hr" else plan.lr_info
    nodata = plan.hr_nodata if plan.wald or role == "hr" else plan.lr_nodata
    source = (f"{os.path.basename(plan.hr_path)} degraded x{plan.ratio}" if plan.wald and role == "lr"
              else os.path.basename(info.path))
    # One strip per patch: a streaming reader decodes exactly the patch it asks for.
    options = {"TILED": "NO", "BLOCKYSIZE": str(size)}
    return raster.AtomicWriter(
        path, size, count * size, info.count, dtype, nodata=_representable(nodata, dtype),
        descriptions=info.descriptions, color_interps=info.color_interps,
        metadata={"SR4RS_PATCH_SIZE": str(size), "SR4RS_PATCHES": str(count), "SR4RS_ROLE": role,
                  "SR4RS_SOURCE": source, "SR4RS_RATIO": str(plan.ratio)},
        creation_options=options, overwrite=overwrite)


def _representable(nodata: Optional[float], dtype: np.dtype) -> Optional[float]:
    """``nodata`` if ``dtype`` can hold it exactly (a tag outside the type would mislead)."""
    if nodata is None or dtype.kind == "f":
        return nodata
    info = np.iinfo(dtype)
    return nodata if float(nodata).is_integer() and info.min <= nodata <= info.max else None


def _write(plan, source, kept, parts, dtypes, overwrite, advance) -> Tuple[str, ...]:
    writers, csvs, committed = [], [], []
    try:
        for part in parts:
            lr_w = _writer(part.lr, plan, "lr", len(part.indices), dtypes[0], overwrite)
            writers.append(lr_w)
            hr_w = _writer(part.hr, plan, "hr", len(part.indices), dtypes[1], overwrite)
            writers.append(hr_w)
            rows = _write_part(plan, source, [plan.windows[kept[i]] for i in part.indices], lr_w, hr_w, dtypes, advance)
            csvs.append(_write_centres(part.lr, rows["lr"]))
            csvs.append(_write_centres(part.hr, rows["hr"]))
        for writer in writers:
            writer.commit()
            committed.append(writer.path)
        for tmp, final in csvs:
            os.replace(tmp, final)
            committed.append(final)
        return tuple(committed)
    except BaseException:
        for writer in writers:
            writer.abort()
        for tmp, _ in csvs:
            _remove(tmp)
        for path in committed:  # a later commit failed: take back what this run had put in place
            _remove(path)
        raise


def _write_part(plan, source, windows, lr_w, hr_w, dtypes, advance) -> Dict[str, list]:
    p, hp = plan.patch_size, plan.hr_patch_size
    g = plan.geometry
    rows = {"lr": [], "hr": []}
    for k, window in enumerate(windows):
        lr, hr = source.read(window)
        lr_w.write(Window(0, k * p, p, p), raster.cast_clipped(lr, dtypes[0]))
        hr_w.write(Window(0, k * hp, hp, hp), raster.cast_clipped(hr, dtypes[1]))
        hr_window = g.hr_window(window)
        rows["lr"].append((k, *window_centre(window, g.lr.geotransform), window.col_off, window.row_off))
        rows["hr"].append((k, *window_centre(hr_window, g.hr.geotransform), hr_window.col_off, hr_window.row_off))
        advance(1)
    return rows


def _write_centres(image_path: str, rows) -> Tuple[str, str]:
    """Write the centres CSV under a temporary name; returns (temporary, final) for the commit."""
    final = centres_path(image_path)
    tmp = os.path.join(os.path.dirname(os.path.abspath(final)),
                       f".{os.path.basename(final)}.{uuid.uuid4().hex[:8]}.partial")
    try:
        with open(tmp, "w", encoding="ascii") as f:
            f.write("patch,x,y,col,row\n")
            for k, x, y, col, row in rows:
                f.write(f"{k},{x!r},{y!r},{col},{row}\n")
    except OSError as err:
        _remove(tmp)
        raise OutputError(f"cannot write '{final}' ({err.strerror}): check free space and permissions") from None
    return tmp, final


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def extract_patches(lr_path: Optional[str], hr_path: str, out_lr: str, out_hr: str, patch_size: int,
                    step: Optional[int] = None, points: Optional[str] = None, factor: Optional[int] = None,
                    val_fraction: float = 0.0, seed: int = 0, encoding: str = "auto",
                    nodata: Optional[float] = None, overwrite: bool = False,
                    progress: Optional[Progress] = None) -> ExtractReport:
    """Plan and cut LR/HR patch pairs in one call (see ``plan_extraction`` and ``extract``).

    ``lr_path`` None with ``factor`` is Wald's protocol: the LR patches are the HR ones degraded.
    """
    plan = plan_extraction(lr_path, hr_path, patch_size, step=step, points=points, factor=factor, nodata=nodata)
    return extract(plan, out_lr, out_hr, val_fraction=val_fraction, seed=seed, encoding=encoding,
                   overwrite=overwrite, progress=progress)

"""Products as users get them (a Sentinel-2 ``.SAFE`` folder or its ``.zip``, a Landsat Collection 2 folder of
band files, a STAC item: ``sr4rs.io.stac``), read through GDAL without an intermediate stack: the bands asked for become a virtual raster
(VRT, in GDAL's memory) over the product's own files, with the product's radiometric offsets applied and
its fill marked as nodata. Every part of sr4rs that reads a GeoTIFF reads these the same way.
"""
from __future__ import annotations

import fnmatch
import hashlib
import logging
import math
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple
from xml.sax.saxutils import escape

import numpy as np

from ..errors import InputError, first_line, name_virtual, shown
from ..geo.pairs import Grid, nesting_shift
from ._gdal import gdal, gdal_array
from .rasters import open_raster
from .sensors import Band, Sensor, get_sensor, sensors

_VSIMEM = "/vsimem/sr4rs-products"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Product:
    """A product found: its sensor, every band's file (a GDAL path) and its values' scaling (the sensor's value
    is the stored one x ``ratios`` + ``offsets``, from its metadata), the band's number in its file where it is
    not 1; ``id``: a STAC item's."""

    path: str
    root: str  # GDAL path of the folder holding the product's files (/vsizip/... for a zip)
    sensor: Sensor
    files: Dict[str, str]
    offsets: Dict[str, float] = field(default_factory=dict)
    baseline: Optional[str] = None
    ratios: Dict[str, float] = field(default_factory=dict)
    indexes: Dict[str, int] = field(default_factory=dict)
    id: Optional[str] = None
    crs: Tuple[str, ...] = ()  # the CRSs its metadata states
    metadata_file: str = ""  # relative to the root: where the offsets are (or should be)
    needs_offsets: bool = False  # the pixels carry an offset the metadata must give (Sentinel-2 baseline 04.00+)

    @property
    def name(self) -> str:
        return self.id or os.path.basename(os.path.normpath(self.path))


def _is_local_product(path: str) -> bool:
    return os.path.isdir(path) or (os.path.isfile(path) and path.lower().endswith(".zip"))


def _is_stac(path: str) -> bool:
    from .stac import claims

    return claims(path)


def _open_stac(path: str, sensor: Optional[str]) -> "Product":
    from .stac import open_item

    return open_item(path, sensor)


# The product formats: (claims a path, opens it); a new format is one more line.
FORMATS = {"stac-item": (_is_stac, _open_stac),
           "product-files": (_is_local_product, lambda path, sensor: _open_files(path, sensor))}


def is_product(path: str) -> bool:
    """A product of one of ``FORMATS``: a folder or a .zip (a plain raster is a file), a STAC item."""
    path = os.fspath(path)
    return any(claims(path) for claims, _ in FORMATS.values())


def _root(path: str) -> str:
    """The GDAL path of the folder holding the product's files: the folder, or the one folder in the zip."""
    if os.path.isdir(path):
        return os.path.abspath(path)
    zipped = "/vsizip/" + os.path.abspath(path)
    entries = [e.rstrip("/") for e in (gdal.ReadDir(zipped) or []) if e not in (".", "..")]
    if not entries:
        raise InputError(f"product '{path}' is not a zip GDAL can read, or it is empty: give the product as downloaded")
    if len(entries) == 1 and gdal.VSIStatL(f"{zipped}/{entries[0]}", gdal.VSI_STAT_NATURE_FLAG).IsDirectory():
        return f"{zipped}/{entries[0]}"
    return zipped


def _listing(root: str) -> List[str]:
    """Every file under ``root``, relative to it (GDAL lists folders and zips alike)."""
    return [e for e in (gdal.ReadDirRecursive(root) or []) if not e.endswith("/")]


def _match(listing: Sequence[str], pattern: str) -> List[str]:
    """The files of ``listing`` (paths relative to the product's root) that ``pattern`` matches."""
    return sorted(e for e in listing if fnmatch.fnmatchcase(e, pattern))


def detect(path: str) -> Sensor:
    """The sensor whose ``detect`` patterns all match files of the product."""
    listing = _listing(_root(path))
    for sensor in sensors().values():
        if sensor.format != "one-file" and sensor.detect and all(_match(listing, p) for p in sensor.detect):
            return sensor
    raise InputError(f"'{path}' is not a product sr4rs knows (no sensor description matches its files): give "
                     "--sensor NAME or a sensor file (sr4rs sensors lists them), or a GeoTIFF")


def open_product(path: str, sensor: Optional[str] = None) -> Product:
    """Find the sensor (given, or detected) and every band's file; read offsets from the metadata."""
    path = os.fspath(path)
    for claims, opener in FORMATS.values():
        if claims(path):
            return opener(path, sensor)
    return _open_files(path, sensor)


def _open_files(path: str, sensor: Optional[str] = None) -> Product:
    """A product of band files in a folder or a zip."""
    if not os.path.exists(path):
        raise InputError(f"input '{path}' does not exist: check the path")
    found = get_sensor(sensor) if sensor else detect(path)
    root = _root(path)
    listing = _listing(root)
    files = {}
    for band in found.bands:
        matches = _match(listing, band.file)
        if len(matches) > 1:
            raise InputError(f"product '{path}' has {len(matches)} files for band {band.name} ({band.file}): "
                             f"give one product (a tile) at a time")
        if matches:
            files[band.name] = f"{root}/{matches[0]}"
    if not files:
        raise InputError(f"product '{path}' holds none of the band files of sensor '{found.name}' "
                         f"(e.g. {found.bands[0].file}): is the download complete?")
    if found.format == "sentinel2-safe":
        offsets, baseline, metadata_file, needs = _sentinel2_metadata(root, listing, found, path)
        return Product(path, root, found, files, offsets=offsets, baseline=baseline, metadata_file=metadata_file,
                       needs_offsets=needs)
    return Product(path, root, found, files)


def _read_text(path: str) -> bytes:
    f = gdal.VSIFOpenL(path, "rb")
    if f is None:
        raise InputError(f"'{path}' cannot be read: is the product complete?")
    try:
        gdal.VSIFSeekL(f, 0, 2)
        size = gdal.VSIFTellL(f)
        gdal.VSIFSeekL(f, 0, 0)
        return gdal.VSIFReadL(1, size, f)
    finally:
        gdal.VSIFCloseL(f)


# Sentinel-2 products from processing baseline 04.00 on add this to every value; the metadata gives the offset back.
_OFFSET_BASELINE = 4.0


def _baseline_number(baseline: Optional[str], path: str) -> Optional[float]:
    """The processing baseline as a number: the metadata's, else the product name's (``_N0400_``)."""
    try:
        return float(baseline)
    except (TypeError, ValueError):
        found = re.search(r"_N(\d{2})(\d{2})_", os.path.basename(os.path.normpath(path)))
        return float(f"{found.group(1)}.{found.group(2)}") if found else None


def _sentinel2_metadata(root: str, listing, sensor: Sensor, path: str):
    """Processing baseline, per-band radiometric offsets (baseline 04.00 and later add 1000 to every value: the
    metadata gives -1000, added back here), the metadata file, and whether the offsets are required."""
    name = _match(listing, sensor.detect[0])[0]
    try:
        tree = ET.fromstring(_read_text(f"{root}/{name}"))
    except ET.ParseError as err:
        raise InputError(f"'{name}' of product '{path}' is not valid XML ({err}): is the product complete?") from None
    baseline = next((e.text for e in tree.iter() if e.tag.endswith("PROCESSING_BASELINE")), None)
    tag = (sensor.offsets or {}).get("metadata")
    offsets = _offsets(tree, tag, sensor, name, path) if tag else {}
    number = _baseline_number(baseline, path)
    needs = bool(tag) and number is not None and number >= _OFFSET_BASELINE
    return offsets, baseline, name, needs


def _offsets(tree, tag: str, sensor: Sensor, name: str, path: str) -> Dict[str, float]:
    """Each band's offset from the elements ``tag`` (``<RADIO_ADD_OFFSET band_id="1">-1000</...>``)."""
    by_id = {b.id: b.name for b in sensor.bands if b.id is not None}
    offsets = {}
    for element in tree.iter():
        if not element.tag.endswith(tag) or element.get("band_id") is None:
            continue
        text, ident = (element.text or "").strip(), element.get("band_id").strip()
        known = ident.isdigit()
        band = by_id.get(int(ident)) if known else None
        if known and band is None:
            continue  # a band this sensor description does not read
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if band is None or not math.isfinite(value):
            raise InputError(f"'{name}' of product '{path}' has a damaged {tag} (band_id \"{ident}\": "
                             f"\"{text}\"), so its pixel values cannot be put right: download the product again")
        offsets[band] = value
    return offsets


def _check_offsets(product: "Product", bands: Sequence[Band]) -> None:
    """Refuse bands whose values carry an offset the metadata does not give (they would read 1000 too high)."""
    lacking = [b.name for b in bands if product.needs_offsets and b.name not in product.offsets]
    if lacking:
        tag = (product.sensor.offsets or {}).get("metadata", "offset")
        raise InputError(f"product '{product.path}' (processing baseline {product.baseline or 'from 04.00'}) gives no "
                         f"{tag} for band(s) {', '.join(lacking)} in '{product.metadata_file}': without it their "
                         "values would read 1000 too high; download the product again (its metadata is incomplete)")


def parse_bands(text: Optional[str]) -> Optional[List[str]]:
    """``B4,B3,B2`` (or ``B4 B3 B2``) -> ["B4", "B3", "B2"]; None stays None."""
    if text is None:
        return None
    names = [n for n in text.replace(",", " ").split() if n]
    if not names:
        raise InputError("--bands names no band: give them as B4,B3,B2")
    return names


def _check_item_bands(product: Product, names: Sequence[str]) -> None:
    """A STAC item holding every band asked for: all those missing named at once, beside what it has."""
    missing = [n for n in names if product.sensor.find(n) is None or product.sensor.find(n).name not in product.files]
    if missing:
        has = ", ".join(product.files)
        raise InputError(f"STAC item '{product.id}' has no asset for band(s) {', '.join(missing)} (it has {has}): "
                         "choose an item holding them, or bands among these (--bands)")


def check_bands(path: str, names: Sequence[str], sensor: Optional[str] = None) -> None:
    """A STAC item holds every band of ``names`` (those of all of a model's inputs): one message for all missing."""
    product = open_product(path, sensor)
    if product.id is not None:
        _check_item_bands(product, names)


def product_bands(product: Product, names: Sequence[str]) -> Tuple[Band, ...]:
    """The bands ``names`` of the product, all present and of one resolution."""
    if product.id is not None:
        _check_item_bands(product, names)
    bands = product.sensor.select(names)
    missing = [b for b in bands if b.name not in product.files]
    if missing:
        expected = ", ".join(f"{b.name}: {b.file}" for b in missing)
        raise InputError(f"product '{product.path}' has no file for band(s) {', '.join(b.name for b in missing)} "
                         f"(looked for {expected}): is the download complete?")
    resolutions = sorted({b.resolution for b in bands})
    if len(resolutions) > 1:
        groups = "; ".join(f"{r:g} m: {', '.join(b.name for b in bands if b.resolution == r)}" for r in resolutions)
        raise InputError(f"--bands mixes resolutions ({groups}): one image holds one resolution; give the bands of "
                         "one resolution, or a model that takes several inputs")
    _check_offsets(product, bands)
    return bands


def _band_xml(i: int, name: str, source: str, band: int, size: Tuple[int, int], dtype: str,
              nodata: Optional[float], fill: Optional[float], offset: float, scale: Optional[float],
              physical_offset: Optional[float], ratio: float = 1.0) -> str:
    w, h = size
    parts = [f'  <VRTRasterBand dataType="{dtype}" band="{i}">', f"    <Description>{escape(name)}</Description>"]
    if nodata is not None:
        parts.append(f"    <NoDataValue>{nodata!r}</NoDataValue>")
    if scale is not None:
        parts.append(f"    <Scale>{scale!r}</Scale>")
    if physical_offset is not None:
        parts.append(f"    <Offset>{physical_offset!r}</Offset>")
    parts += ["    <ComplexSource>", f'      <SourceFilename relativeToVRT="0">{escape(source)}</SourceFilename>',
              f"      <SourceBand>{band}</SourceBand>",
              f'      <SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>',
              f'      <DstRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>']
    if fill is not None:
        parts.append(f"      <NODATA>{fill!r}</NODATA>")
    if offset or ratio != 1.0:
        parts += [f"      <ScaleOffset>{offset!r}</ScaleOffset>", f"      <ScaleRatio>{ratio!r}</ScaleRatio>"]
    parts += ["    </ComplexSource>", "  </VRTRasterBand>"]
    return "\n".join(parts)


def _write_vrt(key: str, stem: str, header: Dict[str, object], bands_xml: Sequence[str],
               metadata: Dict[str, str]) -> str:
    """The VRT in GDAL's memory, named ``stem`` (messages and evaluation tables show it) in a folder of its own."""
    path = f"{_VSIMEM}/{hashlib.sha1(key.encode()).hexdigest()[:16]}/{stem}.vrt"
    meta = "".join(f'<MDI key="{escape(k)}">{escape(v)}</MDI>' for k, v in metadata.items())
    xml = (f'<VRTDataset rasterXSize="{header["width"]}" rasterYSize="{header["height"]}">\n'
           f'  <SRS dataAxisToSRSAxisMapping="1,2">{escape(header["srs"])}</SRS>\n'
           f'  <GeoTransform>{", ".join(repr(v) for v in header["gt"])}</GeoTransform>\n'
           f"  <Metadata>{meta}</Metadata>\n" + "\n".join(bands_xml) + "\n</VRTDataset>\n")
    gdal.FileFromMemBuffer(path, xml.encode())
    return path


def _grid(source: str, what: str):
    try:
        ds = gdal.Open(source)
    except RuntimeError as err:
        fix = "check the address and the network; an expired signed URL needs the item signed again" \
            if source.startswith("/vsicurl/") else "is the product complete?"
        raise InputError(f"{what} '{source}' cannot be opened ({first_line(err)}): {fix}") from None
    gt = ds.GetGeoTransform(can_return_null=True)
    return {"width": ds.RasterXSize, "height": ds.RasterYSize, "gt": gt or (0.0, 1.0, 0.0, 0.0, 0.0, 1.0),
            "srs": ds.GetProjection() or "", "type": gdal.GetDataTypeName(ds.GetRasterBand(1).DataType)}


def stack(product: Product, names: Sequence[str]) -> str:
    """A virtual raster of the bands ``names`` (one resolution) of ``product``, offsets applied."""
    bands = product_bands(product, names)
    grids = [_grid(product.files[b.name], f"band {b.name}") for b in bands]
    first = grids[0]
    _check_crs(product, bands, grids)
    for band, grid in zip(bands, grids):
        if (grid["width"], grid["height"], grid["gt"]) != (first["width"], first["height"], first["gt"]):
            raise InputError(f"band {band.name} of product '{product.path}' is not on the grid of band {bands[0].name}: "
                             "give bands of one resolution")
    s = product.sensor
    dtype = gdal.GetDataTypeName(gdal_array.NumericTypeCodeToGDALTypeCode(np.dtype(s.dtype))) if s.dtype \
        else first["type"]
    xml = [_band_xml(i + 1, b.name, product.files[b.name], product.indexes.get(b.name, 1),
                     (first["width"], first["height"]), dtype, s.nodata, s.fill, product.offsets.get(b.name, 0.0),
                     s.scale, s.offset, product.ratios.get(b.name, 1.0))
           for i, b in enumerate(bands)]
    metadata = {"SR4RS_PRODUCT": product.name, "SR4RS_SENSOR": s.name, "SR4RS_BANDS": ",".join(b.name for b in bands)}
    if product.baseline:
        metadata["PROCESSING_BASELINE"] = product.baseline
    if product.id is not None:
        metadata["SR4RS_STAC_ITEM"] = product.path
    stem = (product.id or os.path.splitext(product.name)[0]) + "_" + "-".join(b.name for b in bands)
    where = product.path if product.id is not None else os.path.abspath(product.path)
    vrt = _write_vrt(f"{where}|{s.name}|{','.join(b.name for b in bands)}", stem, first, xml, metadata)
    return name_virtual(vrt, f"'{product.path}' (bands {', '.join(b.name for b in bands)})")


def _check_crs(product: Product, bands: Sequence[Band], grids: Sequence[dict]) -> None:
    """The bands of one image share one CRS (a STAC item's assets may not)."""
    from ._gdal import osr

    first = osr.SpatialReference(wkt=grids[0]["srs"]) if grids[0]["srs"] else None
    for band, grid in zip(bands[1:], grids[1:]):
        other = osr.SpatialReference(wkt=grid["srs"]) if grid["srs"] else None
        if (first is None) != (other is None) or (first is not None and not first.IsSame(other)):
            name = lambda g: (osr.SpatialReference(wkt=g["srs"]).GetName() if g["srs"] else "none")  # noqa: E731
            raise InputError(f"bands {bands[0].name} ({name(grids[0])}) and {band.name} ({name(grid)}) of "
                             f"'{product.path}' are in different CRSs: give bands of one CRS (reproject with gdalwarp)")


def _band_index(ds, name: str, path: str) -> int:
    if name.isdigit():
        index = int(name)
        if not 1 <= index <= ds.RasterCount:
            raise InputError(f"'{path}' has {ds.RasterCount} band(s), no band {index}: check --bands")
        return index
    descriptions = [ds.GetRasterBand(i + 1).GetDescription() for i in range(ds.RasterCount)]
    for i, text in enumerate(descriptions):
        if text and (text.lower() == name.lower() or text.split()[0].lower() == name.lower()):
            return i + 1
    shown = ", ".join(d or f"{i + 1} (no description)" for i, d in enumerate(descriptions))
    raise InputError(f"'{path}' has no band '{name}' (its bands: {shown}): name bands by their description or number")


def select_bands(path: str, names: Sequence[str]) -> str:
    """A virtual raster of the bands ``names`` of one raster (by description, or number from 1)."""
    ds = open_raster(path)
    indexes = [_band_index(ds, n, path) for n in names]
    grid = _grid(path, "input")
    xml = []
    for i, index in enumerate(indexes):
        band = ds.GetRasterBand(index)
        offset, scale = band.GetOffset(), band.GetScale()
        xml.append(_band_xml(i + 1, band.GetDescription() or names[i], os.path.abspath(path), index,
                             (grid["width"], grid["height"]), gdal.GetDataTypeName(band.DataType),
                             band.GetNoDataValue(), band.GetNoDataValue(), 0.0,
                             scale if scale not in (None, 1.0) else None, offset if offset not in (None, 0.0) else None))
    stem = os.path.splitext(os.path.basename(path))[0] + "_" + "-".join(n.replace(" ", "") for n in names)
    vrt = _write_vrt(f"{os.path.abspath(path)}|{','.join(map(str, indexes))}", stem, grid, xml,
                     dict(ds.GetMetadata() or {}))
    return name_virtual(vrt, f"{shown(path)} (bands {', '.join(names)})")


def resolve(path: str, bands: Optional[Sequence[str]] = None, sensor: Optional[str] = None) -> str:
    """What GDAL reads for ``path``: the bands of a product (``bands`` required), the bands of one raster, or the
    raster itself."""
    one_file = sensor is not None and get_sensor(sensor).format == "one-file"
    if not one_file and (is_product(path) or sensor):
        product = open_product(path, sensor)
        if not bands:
            groups = {}
            for b in product.sensor.bands:
                if b.name in product.files:
                    groups.setdefault(b.resolution, []).append(b.name)
            hint = "; ".join(f"{r:g} m: {','.join(n)}" for r, n in sorted(groups.items()))
            raise InputError(f"'{path}' is a {product.sensor.name} product: choose its bands with --bands ({hint})")
        return stack(product, bands)
    if bands:
        return select_bands(path, bands)
    return path


def _georeferenced(path: str):
    """(dataset, geotransform, spatial reference) of a north-up georeferenced raster; None otherwise, or when it
    cannot be opened (the checks that follow say why)."""
    try:
        ds = open_raster(path)
    except InputError:
        return None
    gt = ds.GetGeoTransform(can_return_null=True)
    srs = ds.GetSpatialRef()
    if gt is None or srs is None or gt[2] or gt[4]:
        return None
    return ds, gt, srs


def nest(coarse: str, fine: str) -> str:
    """``coarse`` resampled (cubic convolution, on the fly) onto the grid of its pixel size whose pixels are unions of
    ``fine``'s, when the grids are offset by half a fine pixel (products registering the centres of their bands'
    pixels, as Landsat's and SPOT's do); ``coarse`` itself otherwise (the checks that follow refuse other offsets)."""
    c, f = _georeferenced(coarse), _georeferenced(fine)
    if c is None or f is None or not c[2].IsSame(f[2]) or abs(c[1][1]) <= abs(f[1][1]):
        return coarse
    src, gt = c[0], c[1]
    dx, dy = nesting_shift(Grid(src.RasterXSize, src.RasterYSize, gt), Grid(f[0].RasterXSize, f[0].RasterYSize, f[1]))
    if not (dx or dy):
        return coarse
    x0, px, _, y0, _, py = gt
    nx0, ny0 = x0 + dx, y0 + dy
    out = f"{_VSIMEM}/{hashlib.sha1(f'{coarse}|{fine}|nest'.encode()).hexdigest()[:16]}/" \
          f"{os.path.splitext(os.path.basename(coarse))[0]}.vrt"
    if gdal.VSIStatL(out) is not None:  # made already for this pair (a command checks its inputs more than once)
        return out
    name_virtual(out, shown(coarse))
    bounds = (nx0, ny0 + py * src.RasterYSize, nx0 + px * src.RasterXSize, ny0) if py < 0 else \
        (nx0, ny0, nx0 + px * src.RasterXSize, ny0 + py * src.RasterYSize)
    gdal.Warp(out, src, format="VRT", outputBounds=bounds, xRes=abs(px), yRes=abs(py), resampleAlg="cubic",
              multithread=False)  # each band's nodata is the source band's
    ds = gdal.Open(out, gdal.GA_Update)
    for i in range(src.RasterCount):
        band, source = ds.GetRasterBand(i + 1), src.GetRasterBand(i + 1)
        band.SetDescription(source.GetDescription())
        if source.GetScale() not in (None, 1.0) or source.GetOffset() not in (None, 0.0):
            band.SetScale(source.GetScale() or 1.0)
            band.SetOffset(source.GetOffset() or 0.0)
    ds.SetMetadata({**(src.GetMetadata() or {}), "SR4RS_NESTED": f"cubic, origin moved by {dx:+g} x {dy:+g}"})
    ds = None
    log.warning("%s resampled (cubic convolution) onto a grid nested in %s's, its origin moved by %+g x %+g: the two "
                "grids are half a fine pixel apart, as Landsat's bands are (they register pixel centres)",
                os.path.splitext(os.path.basename(coarse))[0], os.path.splitext(os.path.basename(fine))[0], dx, dy)
    return out


def band_resolutions(product: Product, names: Sequence[str]) -> List[float]:
    return [product.sensor.band(n).resolution for n in names]


def ratio(a: float, b: float) -> int:
    """The whole ratio of two resolutions."""
    r = a / b
    if not math.isclose(r, round(r), rel_tol=1e-6):
        raise InputError(f"resolutions {a:g} m and {b:g} m are not whole multiples of each other")
    return int(round(r))


def crop(path: str, width: int, height: int) -> str:
    """The first ``width`` x ``height`` pixels of a raster, as a virtual raster (nothing is copied)."""
    ds = open_raster(path)
    if (width, height) == (ds.RasterXSize, ds.RasterYSize):
        return path
    stem = os.path.splitext(os.path.basename(path))[0]
    out = f"{_VSIMEM}/{hashlib.sha1(f'{path}|{width}|{height}'.encode()).hexdigest()[:16]}/{stem}.vrt"
    gdal.Translate(out, ds, format="VRT", srcWin=[0, 0, width, height])
    return name_virtual(out, shown(path))

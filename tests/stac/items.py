"""STAC items shaped as the two services most users search serve them, over COGs made from the real Sentinel-2 crops.

- Earth Search (Element 84, ``sentinel-2-l2a``, STAC 1.0): assets named by common name (``red``, ``nir08``...),
  ``eo:bands`` and ``raster:bands`` per asset (scale 0.0001 and, since processing baseline 04.00, offset -0.1:
  the stored values carry +1000), ``-jp2`` copies, ``proj:epsg`` among the properties.
- Planetary Computer (``sentinel-2-l2a``, STAC 1.0): assets named by band (``B04``, ``B8A``...), ``eo:bands`` with
  common names, ``gsd`` and ``proj:*`` per asset, no ``raster:bands``: the offset follows from
  ``s2:processing_baseline``.

Structures from the STAC specification and its eo, raster and projection extensions, and the services'
published item examples; values from the crops of ``tests/testdata`` (see its README)."""
from __future__ import annotations

import json
import os

import numpy as np
from osgeo import gdal, osr

from products import S2_BANDS

COMMON = {"B1": "coastal", "B2": "blue", "B3": "green", "B4": "red", "B5": "rededge1", "B6": "rededge2",
          "B7": "rededge3", "B8": "nir", "B8A": "nir08", "B9": "nir09", "B11": "swir16", "B12": "swir22"}
WAVELENGTH = {"B1": 0.443, "B2": 0.49, "B3": 0.56, "B4": 0.665, "B5": 0.704, "B6": 0.74, "B7": 0.783, "B8": 0.842,
              "B8A": 0.865, "B9": 0.945, "B11": 1.61, "B12": 2.19}
EXTENSIONS = ["https://stac-extensions.github.io/eo/v1.1.0/schema.json",
              "https://stac-extensions.github.io/projection/v1.1.0/schema.json"]


def _band_array(crop, index, offset):
    ds = gdal.Open(crop)  # kept alive while its band is read
    data = ds.GetRasterBand(index).ReadAsArray().astype(np.int64)
    if offset:
        data = np.where(data > 0, data + offset, 0)  # fill stays 0
    return np.clip(data, 0, 65535).astype(np.uint16)


def write_cog(path, array, like, epsg=None):
    """``array`` (rows, cols[, bands]) as a COG on the grid of the raster ``like`` (another CRS with ``epsg``)."""
    src = gdal.Open(like)
    bands = 1 if array.ndim == 2 else array.shape[2]
    mem = gdal.GetDriverByName("MEM").Create("", array.shape[1], array.shape[0], bands,
                                             gdal.GDT_UInt16 if array.dtype == np.uint16 else gdal.GDT_Byte)
    mem.SetGeoTransform(src.GetGeoTransform())
    if epsg:
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(epsg)
        mem.SetProjection(srs.ExportToWkt())
    else:
        mem.SetProjection(src.GetProjection())
    for b in range(bands):
        mem.GetRasterBand(b + 1).WriteArray(array if array.ndim == 2 else array[..., b])
        mem.GetRasterBand(b + 1).SetNoDataValue(0)
    gdal.Translate(path, mem, format="COG", creationOptions=["COMPRESS=DEFLATE", "BLOCKSIZE=256"])
    return path


def make_cogs(folder, offset=0):
    """One COG per Sentinel-2 L2A band (as Earth Search and Planetary Computer store them), stored values + offset;
    returns {band: (file name, crop file)}."""
    os.makedirs(folder, exist_ok=True)
    files = {}
    for band, code, res, crop, index, _ in S2_BANDS:
        if band == "B10":
            continue  # L2A has no cirrus band
        name = f"{code}_{res}m.tif"
        write_cog(os.path.join(folder, name), _band_array(crop, index, offset), crop)
        files[band] = (name, crop)
    return files


def _grid_fields(crop):
    ds = gdal.Open(crop)
    x0, px, _, y0, _, py = ds.GetGeoTransform()
    return {"proj:shape": [ds.RasterYSize, ds.RasterXSize], "proj:transform": [px, 0.0, x0, 0.0, py, y0]}


def _footprint(crop):
    """(geometry, bbox) of a crop in longitude and latitude."""
    ds = gdal.Open(crop)
    x0, px, _, y0, _, py = ds.GetGeoTransform()
    src = osr.SpatialReference(wkt=ds.GetProjection())
    dst = osr.SpatialReference()
    dst.ImportFromEPSG(4326)
    dst.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    t = osr.CoordinateTransformation(src, dst)
    corners = [(x0, y0), (x0 + px * ds.RasterXSize, y0), (x0 + px * ds.RasterXSize, y0 + py * ds.RasterYSize),
               (x0, y0 + py * ds.RasterYSize)]
    ring = [list(t.TransformPoint(x, y)[:2]) for x, y in corners]
    ring.append(ring[0])
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    return {"type": "Polygon", "coordinates": [ring]}, [min(lons), min(lats), max(lons), max(lats)]


def _item(item_id, files, properties, assets, collection, extensions):
    geometry, bbox = _footprint(next(iter(files.values()))[1])
    return {"type": "Feature", "stac_version": "1.0.0", "stac_extensions": extensions, "id": item_id,
            "geometry": geometry, "bbox": bbox, "properties": {"datetime": "2016-01-12T15:56:22.026000Z", **properties},
            "links": [{"rel": "collection", "href": f"./{collection}.json", "type": "application/json"}],
            "assets": assets, "collection": collection}


def earth_search_item(files, base, baseline="05.10", item_id="S2A_18SVG_20160112_0_L2A"):
    """An item as Earth Search's ``sentinel-2-l2a`` (v1) serves it; ``base``: where the COGs are (an URL)."""
    offset = -0.1 if baseline >= "04.00" else 0.0
    assets = {}
    for band, (name, crop) in files.items():
        key = COMMON[band]
        eo = [{"name": key, "common_name": key, "description": f"{key} ({band})",
               "center_wavelength": WAVELENGTH[band]}]
        res = int(gdal.Open(crop).GetGeoTransform()[1])
        raster = [{"nodata": 0, "data_type": "uint16", "bits_per_sample": 15, "spatial_resolution": res,
                   "scale": 0.0001, "offset": offset}]
        common = {"eo:bands": eo, "gsd": res, **_grid_fields(crop), "raster:bands": raster, "roles": ["data", "reflectance"]}
        assets[key] = {"href": f"{base}/{name}", "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                       "title": f"{key} - {res}m", **common}
        assets[f"{key}-jp2"] = {"href": f"{base}/{name[:-4]}.jp2", "type": "image/jp2", **common}
    assets["thumbnail"] = {"href": f"{base}/thumbnail.jpg", "type": "image/jpeg", "roles": ["thumbnail"]}
    assets["granule_metadata"] = {"href": f"{base}/metadata.xml", "type": "application/xml", "roles": ["metadata"]}
    properties = {"platform": "sentinel-2a", "constellation": "sentinel-2", "instruments": ["msi"],
                  "eo:cloud_cover": 0.4, "proj:epsg": 32618, "mgrs:utm_zone": 18, "mgrs:latitude_band": "S",
                  "mgrs:grid_square": "VG", "s2:product_type": "S2MSI2A", "s2:processing_baseline": baseline,
                  "earthsearch:boa_offset_applied": baseline >= "04.00"}
    return _item(item_id, files, properties, assets, "sentinel-2-l2a",
                 EXTENSIONS + ["https://stac-extensions.github.io/raster/v1.1.0/schema.json"])


def planetary_item(files, base, baseline="05.10",
                   item_id="S2A_MSIL2A_20160112T155622_R054_T18SVG_20160112T155617"):
    """An item as Planetary Computer's ``sentinel-2-l2a`` serves it: no raster:bands."""
    assets = {}
    for band, (name, crop) in files.items():
        code = band if band == "B8A" else f"B{int(band[1:]):02d}"
        res = int(gdal.Open(crop).GetGeoTransform()[1])
        assets[code] = {"href": f"{base}/{name}", "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                        "title": f"Band {band[1:]} - {COMMON[band]} - {res}m", "roles": ["data"], "gsd": float(res),
                        "eo:bands": [{"name": code, "common_name": COMMON[band],
                                      "description": f"Band {band[1:]} - {COMMON[band]}",
                                      "center_wavelength": WAVELENGTH[band]}], **_grid_fields(crop)}
    assets["safe-manifest"] = {"href": f"{base}/manifest.safe", "type": "application/xml", "roles": ["metadata"]}
    assets["preview"] = {"href": f"{base}/preview.png", "type": "image/png", "roles": ["overview"]}
    properties = {"platform": "Sentinel-2A", "constellation": "Sentinel 2", "instruments": ["msi"],
                  "eo:cloud_cover": 0.4, "proj:epsg": 32618, "s2:mgrs_tile": "18SVG", "s2:product_type": "S2MSI2A",
                  "s2:processing_baseline": baseline, "sat:orbit_state": "descending",
                  "sat:relative_orbit": 54}
    return _item(item_id, files, properties, assets, "sentinel-2-l2a",
                 EXTENSIONS + ["https://stac-extensions.github.io/sat/v1.0.0/schema.json"])


def save(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    return str(path)


def item_collection(items):
    """A STAC API search result saved to a file: a FeatureCollection of the items."""
    return {"type": "FeatureCollection", "features": list(items),
            "links": [{"rel": "next", "href": "https://example.invalid/search?page=2"}]}

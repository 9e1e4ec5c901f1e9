"""Small products laid out exactly as real ones, made from the real Sentinel-2 and Landsat crops: the folder and
file names of a Sentinel-2 L1C or L2A .SAFE (as ESA's products since PSD 14), the metadata file with its
processing baseline and radiometric offsets, lossless JPEG 2000 band files; a Landsat 8 Collection 2 folder
of band files with its MTL."""
from __future__ import annotations

import os
import shutil
import zipfile

import numpy as np
from osgeo import gdal

from conftest import LANDSAT, S2_10M, S2_20M, S2_60M

# Band, file code, resolution, crop file, band of the crop file, bandId of ESA's metadata
S2_BANDS = [("B1", "B01", 60, S2_60M, 1, 0), ("B2", "B02", 10, S2_10M, 1, 1), ("B3", "B03", 10, S2_10M, 2, 2),
            ("B4", "B04", 10, S2_10M, 3, 3), ("B5", "B05", 20, S2_20M, 1, 4), ("B6", "B06", 20, S2_20M, 2, 5),
            ("B7", "B07", 20, S2_20M, 3, 6), ("B8", "B08", 10, S2_10M, 4, 7), ("B8A", "B8A", 20, S2_20M, 4, 8),
            ("B9", "B09", 60, S2_60M, 2, 9), ("B10", "B10", 60, S2_60M, 3, 10), ("B11", "B11", 20, S2_20M, 5, 11),
            ("B12", "B12", 20, S2_20M, 6, 12)]
TILE, SENSING, GENERATION = "T18SVG", "20160112T155622", "20160112T155617"


def _jp2(src_path, band, dst, offset):
    """One band of a crop as a lossless JPEG 2000 with its georeferencing, ``offset`` added (baseline 04.00)."""
    src = gdal.Open(src_path)
    data = src.GetRasterBand(band).ReadAsArray().astype(np.int64)
    if offset:
        data = np.where(data > 0, data + offset, 0)  # fill stays 0
    mem = gdal.GetDriverByName("MEM").Create("", src.RasterXSize, src.RasterYSize, 1, gdal.GDT_UInt16)
    mem.SetGeoTransform(src.GetGeoTransform())
    mem.SetProjection(src.GetProjection())
    mem.GetRasterBand(1).WriteArray(np.clip(data, 0, 65535).astype(np.uint16))
    gdal.GetDriverByName("JP2OpenJPEG").CreateCopy(dst, mem, options=["QUALITY=100", "REVERSIBLE=YES", "YCBCR420=NO"])
    for leftover in (dst + ".aux.xml",):
        if os.path.exists(leftover):
            os.remove(leftover)


def _mtd(level, baseline, image_files, offsets):
    code = "1C" if level == "L1C" else "2A"
    quant = ("<QUANTIFICATION_VALUE unit=\"none\">10000</QUANTIFICATION_VALUE>" if level == "L1C" else
             "<QUANTIFICATION_VALUES_LIST><BOA_QUANTIFICATION_VALUE unit=\"none\">10000</BOA_QUANTIFICATION_VALUE>"
             "<AOT_QUANTIFICATION_VALUE unit=\"none\">1000.0</AOT_QUANTIFICATION_VALUE>"
             "<WVP_QUANTIFICATION_VALUE unit=\"cm\">1000.0</WVP_QUANTIFICATION_VALUE></QUANTIFICATION_VALUES_LIST>")
    offset_list = ""
    if offsets:
        if level == "L1C":
            offset_list = "<Radiometric_Offset_List>" + "".join(
                f'<RADIO_ADD_OFFSET band_id="{i}">-1000</RADIO_ADD_OFFSET>' for *_, i in S2_BANDS) + \
                "</Radiometric_Offset_List>"
        else:
            offset_list = "<BOA_ADD_OFFSET_VALUES_LIST>" + "".join(
                f'<BOA_ADD_OFFSET band_id="{i}">-1000</BOA_ADD_OFFSET>' for *_, i in S2_BANDS) + \
                "</BOA_ADD_OFFSET_VALUES_LIST>"
    files = "".join(f"<IMAGE_FILE>{f}</IMAGE_FILE>" for f in image_files)
    spectral = "".join(f'<Spectral_Information bandId="{i}" physicalBand="{name}"><RESOLUTION>{res}</RESOLUTION>'
                       f"</Spectral_Information>" for name, _, res, _, _, i in S2_BANDS)
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:Level-{code}_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-{code}.xsd">
  <n1:General_Info>
    <Product_Info>
      <PRODUCT_START_TIME>2016-01-12T15:56:22.026Z</PRODUCT_START_TIME>
      <PROCESSING_LEVEL>Level-{code}</PROCESSING_LEVEL>
      <PRODUCT_TYPE>S2MSI{code}</PRODUCT_TYPE>
      <PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>
      <Datatake datatakeIdentifier="GS2A_20160112T155622_002911_N{baseline.replace('.', '')}">
        <SPACECRAFT_NAME>Sentinel-2A</SPACECRAFT_NAME>
        <SENSING_ORBIT_NUMBER>54</SENSING_ORBIT_NUMBER>
      </Datatake>
      <Product_Organisation><Granule_List><Granule imageFormat="JPEG2000">{files}</Granule></Granule_List>
      </Product_Organisation>
    </Product_Info>
    <Product_Image_Characteristics>
      <Special_Values><SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX></Special_Values>
      <Special_Values><SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX></Special_Values>
      {quant}
      {offset_list}
      <Spectral_Information_List>{spectral}</Spectral_Information_List>
    </Product_Image_Characteristics>
  </n1:General_Info>
</n1:Level-{code}_User_Product>
"""


def make_sentinel2(folder, level="L1C", baseline="02.01", as_zip=False):
    """A Sentinel-2 product of the crops (127 x 99 pixels at 10 m); returns the .SAFE folder or its .zip."""
    offset = 1000 if baseline >= "04.00" else 0
    code = "1C" if level == "L1C" else "2A"
    name = f"S2A_MSIL{code}_{SENSING}_N{baseline.replace('.', '')}_R054_{TILE}_{GENERATION}.SAFE"
    safe = os.path.join(str(folder), name)
    granule = f"{level}_{TILE}_A002911_{GENERATION}"
    images = []
    for band, file_code, res, crop, index, _ in S2_BANDS:
        if level == "L2A" and band == "B10":
            continue  # L2A has no cirrus band
        sub = "IMG_DATA" if level == "L1C" else f"IMG_DATA/R{res}m"
        stem = f"{TILE}_{SENSING}_{file_code}" + ("" if level == "L1C" else f"_{res}m")
        os.makedirs(os.path.join(safe, "GRANULE", granule, sub), exist_ok=True)
        _jp2(crop, index, os.path.join(safe, "GRANULE", granule, sub, stem + ".jp2"), offset)
        images.append(f"GRANULE/{granule}/{sub}/{stem}")
    for extra in ("AUX_DATA", "HTML", "rep_info", f"DATASTRIP/DS_SGS__{GENERATION}_S{GENERATION}",
                  f"GRANULE/{granule}/QI_DATA"):
        os.makedirs(os.path.join(safe, extra), exist_ok=True)
    with open(os.path.join(safe, f"MTD_MSIL{code}.xml"), "w") as f:
        f.write(_mtd(level, baseline, images, offset))
    with open(os.path.join(safe, "GRANULE", granule, "MTD_TL.xml"), "w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<n1:Level-%s_Tile_ID/>\n' % code)
    with open(os.path.join(safe, "manifest.safe"), "w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<xfdu:XFDU/>\n')
    if not as_zip:
        return safe
    archive = safe[:-len(".SAFE")] + ".zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        for dirpath, _, files in os.walk(safe):
            for file in files:
                path = os.path.join(dirpath, file)
                z.write(path, os.path.relpath(path, os.path.dirname(safe)))
    shutil.rmtree(safe)
    return archive


def make_landsat(folder, bands=("B2", "B3", "B4"), stem="LC08_L1TP_224078_20200518_20200527_02_T1"):
    """A Landsat 8 Collection 2 Level-1 folder: one GeoTIFF per band of the Landsat crop, and the MTL."""
    out = os.path.join(str(folder), stem)
    os.makedirs(out, exist_ok=True)
    crop = gdal.Open(LANDSAT)  # bands B4 B3 B2
    index = {"B4": 1, "B3": 2, "B2": 3}
    for band in bands:
        gdal.Translate(os.path.join(out, f"{stem}_{band}.TIF"), crop, bandList=[index[band]],
                       creationOptions=["TILED=YES", "COMPRESS=DEFLATE"])
    with open(os.path.join(out, f"{stem}_MTL.txt"), "w") as f:
        f.write(f'GROUP = LANDSAT_METADATA_FILE\n  GROUP = PRODUCT_CONTENTS\n    LANDSAT_PRODUCT_ID = "{stem}"\n'
                '    PROCESSING_LEVEL = "L1TP"\n  END_GROUP = PRODUCT_CONTENTS\nEND_GROUP = LANDSAT_METADATA_FILE\nEND\n')
    for leftover in os.listdir(out):
        if leftover.endswith(".aux.xml"):
            os.remove(os.path.join(out, leftover))
    return out

"""The reliability table: each case is a real command on real pixels, what the user must see, the exit
status, and what may be left on disk. ``test_reliability.py`` runs every case; ``make_doc.py`` writes
docs/reliability.md from this table (a test checks that the two agree)."""
from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

from newer_inputs import (all_bands_tagged, earlier_all_bands, given, pixel_type, says_why, scenes_with_outputs,
                          symlink_to_band)

# Exit statuses.
OK, ERROR, USAGE = 0, 1, 2
SIGINT_EXIT, SIGTERM_EXIT, SIGHUP_EXIT = 128 + signal.SIGINT, 128 + signal.SIGTERM, 128 + signal.SIGHUP


@dataclass(frozen=True)
class Case:
    """``argv`` is a command line with placeholders: ``{in}`` the inputs folder (copies of the real crops,
    checked by checksum afterwards), ``{out}`` the outputs folder, ``{model}`` an x4 test model,
    ``{tf1}`` an SR4RS-style model without metadata, ``{py}`` the Python running sr4rs."""

    id: str
    kind: str  # the class of problem
    argv: Tuple[str, ...]
    exit: int
    says: str  # a regular expression the one stderr line (or, for successes, the output) must match
    left: str  # what is left on disk, for the table
    setup: Optional[Callable] = None  # (workspace) -> None, before the run
    check: Optional[Callable] = None  # (workspace, result) -> None, more assertions after the run
    disk: Optional[str] = None  # "full:<size>" or "readonly": a tmpfs mounted on {out}
    signal: Optional[int] = None  # sent once ``wait`` sees the state it waits for
    wait: Optional[Callable] = None
    leftover: Tuple[str, ...] = ()  # temporary names allowed afterwards (SIGKILL leaves its partial file)
    keeps: Tuple[str, ...] = ()  # where a failed run may leave files (relative paths: checkpoints kept)


def _apply(*args):
    return ("{py}", "-m", "sr4rs.cli.main", "apply", *args)


def _extract(*args):
    return ("{py}", "-m", "sr4rs.cli.main", "extract", *args)


def _apply_many(*args):
    return ("{py}", "-m", "sr4rs.cli.main", "apply-many", "--no-progress", *args)


def _api(name):
    """A program calling the public API (tests/reliability/api_calls.py)."""
    return ("{py}", "tests/reliability/api_calls.py", name, "{model}", "{out}")


def _train(*args):
    """train.py with sr4rs's checkpoint folder layout (--ckpt_folder), whose checks these cases show."""
    return ("{py}", "train.py", "--lr_patches", "{in}/lr.tif", "--hr_patches", "{in}/hr.tif", "--arch", "edsr",
            "--depth", "8", "--nresblocks", "1", "--batchsize", "4", "--ganweight", "0", "--no-progress",
            "--ckpt_folder", *args)


def _evaluate(*args):
    return ("{py}", "-m", "sr4rs.cli.main", "evaluate", "--no-progress", *args)


M = ("--savedmodel", "{model}")  # the x4 test model
ALL = ("--input", "{in}/s2.SAFE", "--model", "s2-20m-x2", "--model", "s2-60m-x6", "--all-bands")  # a product, all bands
S2_BANDS = "B2,B3,B4,B8,B5,B6,B7,B8A,B11,B12"  # its 10 m and 20 m bands
NEVER_OVER_INPUTS = r"sr4rs never writes over its inputs"


def _write(path, text="keep me\n"):
    with open(path, "w") as f:
        f.write(text)


def _keep_me(name):
    return lambda ws: _write(os.path.join(ws.out, name))


def _symlink_to_input(ws):
    os.symlink(os.path.join(ws.inp, "landsat.tif"), os.path.join(ws.out, "link.tif"))


def _hardlink_to_input(ws):
    os.link(os.path.join(ws.inp, "landsat.tif"), os.path.join(ws.out, "hard.tif"))


def _exists(*parts):
    return lambda ws: any(name.endswith(parts) for _, _, files in os.walk(ws.out) for name in files)


def _partial(ws):
    return any(".partial" in name for name in os.listdir(ws.out))


def _checkpoint_saved(ws):
    return os.path.exists(os.path.join(ws.out, "ckpt", "checkpoint"))


def _evaluation_started(ws):
    return any(name.startswith(".sr4rs-evaluate-") and os.listdir(os.path.join(ws.out, name))
               for name in os.listdir(ws.out))


# --- the newer paths: --all-bands, images of several resolutions, apply-many, products' metadata, pixel types ---
NO_QUICKLOOK = "nothing: refused before computing"
NEWER_PATHS = [
    # outputs: --all-bands goes through the check plain apply makes, every file of a product is an input
    Case("apply-all-bands-quicklook-is-product-metadata", "output path",
         _apply(*ALL, "--output", "{out}/all.tif", "--quicklook", "{in}/s2.SAFE/MTD_MSIL1C.xml", "--overwrite"),
         ERROR, r"--quicklook '.*MTD_MSIL1C.xml' is inside --input '.*s2.SAFE', .*" + NEVER_OVER_INPUTS,
         "nothing; the product unchanged", setup=given("s2.SAFE")),
    Case("apply-all-bands-quicklook-is-product-manifest", "output path",
         _apply(*ALL, "--output", "{out}/all.tif", "--quicklook", "{in}/s2.SAFE/manifest.safe"),
         ERROR, r"--quicklook '.*manifest.safe' is inside --input .*" + NEVER_OVER_INPUTS,
         "nothing; the product unchanged", setup=given("s2.SAFE")),
    Case("apply-all-bands-quicklook-links-to-band-file", "output path",
         _apply(*ALL, "--output", "{out}/all.tif", "--quicklook", "{out}/q.png", "--overwrite"),
         ERROR, r"--quicklook '.*q.png' is --input '.*_B02.jp2', .*" + NEVER_OVER_INPUTS,
         "the link; the band file unchanged", setup=given("s2.SAFE", then=symlink_to_band("q.png"))),
    Case("apply-all-bands-quicklook-is-output", "output path",
         _apply(*ALL, "--output", "{out}/all.tif", "--quicklook", "{out}/all.tif"),
         ERROR, r"--output '.*all.tif' is --quicklook .*give each output a path of its own", NO_QUICKLOOK,
         setup=given("s2.SAFE")),
    Case("apply-all-bands-existing-quicklook", "output path",
         _apply(*ALL, "--output", "{out}/all.tif", "--quicklook", "{out}/q.png"),
         ERROR, r"--quicklook '.*q.png' already exists: remove it or pass --overwrite", "the existing file, unchanged",
         setup=given("s2.SAFE", then=_keep_me("q.png"))),
    Case("apply-all-bands-overwrite-foreign-quicklook", "output path",
         _apply(*ALL, "--output", "{out}/all.tif", "--quicklook", "{out}/q.png", "--overwrite"),
         ERROR, r"--quicklook '.*q.png' exists and is not an earlier PNG quicklook", "the existing file, unchanged",
         setup=given("s2.SAFE", then=_keep_me("q.png"))),
    Case("apply-all-bands-missing-quicklook-folder", "output path",
         _apply(*ALL, "--output", "{out}/all.tif", "--quicklook", "{out}/no/q.png"),
         ERROR, r"output folder '.*no' does not exist: create it first", NO_QUICKLOOK, setup=given("s2.SAFE")),
    Case("apply-all-bands-output-in-product", "output path", _apply(*ALL, "--output", "{in}/s2.SAFE/all.tif"),
         ERROR, r"--output '.*all.tif' is inside --input '.*s2.SAFE', .*" + NEVER_OVER_INPUTS,
         "nothing; the product unchanged", setup=given("s2.SAFE")),
    Case("apply-all-bands-existing-output", "output path", _apply(*ALL, "--output", "{out}/all.tif"),
         ERROR, r"--output '.*all.tif' already exists: remove it or pass --overwrite", "the existing file, unchanged",
         setup=given("s2.SAFE", then=_keep_me("all.tif"))),
    Case("apply-all-bands-overwrite-foreign-file", "output path",
         _apply(*ALL, "--output", "{out}/all.tif", "--overwrite"),
         ERROR, r"exists and is not an earlier output of sr4rs apply: --overwrite replaces only what sr4rs wrote",
         "the existing file, unchanged", setup=given("s2.SAFE", then=_keep_me("all.tif"))),
    Case("apply-all-bands-overwrite-earlier-output", "output path",
         _apply(*ALL, "--output", "{out}/all.tif", "--overwrite"),
         OK, r"^wrote .*all.tif \(127 x 99 pixels, every band\)$", "the new output, tagged SR4RS_MODEL, SR4RS_SCALE",
         setup=given("s2.SAFE", then=earlier_all_bands("all.tif")), check=all_bands_tagged("all.tif")),
    Case("apply-quicklook-in-product", "output path",
         _apply("--input", "{in}/s2.SAFE", "--model", "s2-20m-x2", "--output", "{out}/sr.tif", "--quicklook",
                "{in}/s2.SAFE/manifest.safe", "--overwrite"),
         ERROR, r"--quicklook '.*manifest.safe' is inside --input .*" + NEVER_OVER_INPUTS,
         "nothing; the product unchanged", setup=given("s2.SAFE")),
    Case("apply-many-output-dir-in-product", "output path",
         _apply_many("{in}/s2.SAFE", "--model", "s2-20m-x2", "--output-dir", "{in}/s2.SAFE/sr"),
         ERROR, r"--output-dir '.*s2.SAFE/sr' is inside scene '.*s2.SAFE', .*" + NEVER_OVER_INPUTS,
         "nothing (no folder made in the product)", setup=given("s2.SAFE")),
    Case("apply-many-output-dir-in-model", "output path",
         _apply_many("{in}/landsat.tif", *M, "--output-dir", "{model}/sr"),
         ERROR, r"--output-dir '.*model/sr' is inside --savedmodel .*" + NEVER_OVER_INPUTS,
         "nothing (no folder made in the model)"),
    Case("shard-output-in-patch-set", "output path", ("{py}", "-m", "sr4rs.cli.main", "shard", "--no-progress",
                                                     "--lr_patches", "{in}/set", "--output", "{in}/set/shards"),
         ERROR, r"--output '.*set/shards' is inside --lr_patches '.*set', .*" + NEVER_OVER_INPUTS,
         "nothing; the patch set unchanged", setup=given("set")),

    # images of several resolutions: one grid check (georeferenced, one CRS, nested grids) for every command
    Case("apply-fusion-other-utm-zone", "grid",
         _apply("--input", "{in}/s10.tif", "--input", "{in}/s20_utm19.tif", "--model", "s2-20m-x2", "--output",
                "{out}/sr.tif"),
         ERROR, r"'.*s20_utm19.tif' is in WGS 84 / UTM zone 19N \(EPSG:32619\) but '.*s10.tif' in WGS 84 / UTM "
                r"zone 18N \(EPSG:32618\).*gdalwarp -t_srs EPSG:32618", "nothing",
         setup=given("s10.tif", "s20_utm19.tif")),
    Case("extract-fusion-other-utm-zone", "grid",
         _extract("--input", "{in}/s10.tif", "--input", "{in}/s20_utm19.tif", "--patch-size", "8", "--out",
                  "{out}/set"),
         ERROR, r"'.*s20_utm19.tif' is in WGS 84 / UTM zone 19N \(EPSG:32619\) but '.*s10.tif' in .*zone 18N",
         "nothing", setup=given("s10.tif", "s20_utm19.tif")),
    Case("evaluate-fusion-other-utm-zone", "grid",
         _evaluate("--input", "{in}/s10.tif", "--input", "{in}/s20_utm19.tif", "--model", "s2-20m-x2"),
         ERROR, r"'.*s20_utm19.tif' is in WGS 84 / UTM zone 19N \(EPSG:32619\) but '.*s10.tif' in .*zone 18N",
         "nothing", setup=given("s10.tif", "s20_utm19.tif")),
    Case("apply-fusion-coarse-not-georeferenced", "grid",
         _apply("--input", "{in}/s10.tif", "--input", "{in}/s20_nogeo.tif", "--model", "s2-20m-x2", "--output",
                "{out}/sr.tif"),
         ERROR, r"'.*s20_nogeo.tif' has no geotransform and no CRS, so its place against '.*s10.tif' cannot be "
                r"checked: georeference it \(gdal_edit.py -a_srs", "nothing", setup=given("s10.tif", "s20_nogeo.tif")),
    Case("extract-fusion-coarse-without-crs", "grid",
         _extract("--input", "{in}/s10.tif", "--input", "{in}/s20_nocrs.tif", "--patch-size", "8", "--out",
                  "{out}/set"),
         ERROR, r"'.*s20_nocrs.tif' has no CRS, so its place against '.*s10.tif' cannot be checked", "nothing",
         setup=given("s10.tif", "s20_nocrs.tif")),
    Case("evaluate-fusion-fine-not-georeferenced", "grid",
         _evaluate("--input", "{in}/s10_nogeo.tif", "--input", "{in}/s20.tif", "--model", "s2-20m-x2"),
         ERROR, r"'.*s10_nogeo.tif' has no geotransform and no CRS, so its place against '.*s20.tif' cannot be "
                r"checked", "nothing",
         setup=given("s10_nogeo.tif", "s20.tif")),
    Case("apply-fusion-coarse-shifted", "grid",
         _apply("--input", "{in}/s10.tif", "--input", "{in}/s20_shifted.tif", "--model", "s2-20m-x2", "--output",
                "{out}/sr.tif"),
         ERROR, r"'.*s20_shifted.tif' does not start at the corner of '.*s10.tif': its corner is \+3 x \+0 m away "
                r".*resample '.*s20_shifted.tif'", "nothing", setup=given("s10.tif", "s20_shifted.tif")),
    Case("extract-fusion-coarse-first", "grid",
         _extract("--input", "{in}/s20.tif", "--input", "{in}/s10.tif", "--patch-size", "8", "--out", "{out}/set"),
         ERROR, r"'.*s10.tif' has 10 x 10 m pixels and '.*s20.tif' 20 x 20 m.*give the images from the finest "
                r"resolution to the coarsest", "nothing", setup=given("s10.tif", "s20.tif")),
    Case("api-fusion-coarse-array-placed-nowhere", "grid", _api("fusion-unplaced"),
         ERROR, r"'<memory>' has no geotransform and no CRS, so its place against '<memory>' cannot be checked: give "
                r"MemorySource its geotransform and projection", "nothing"),

    # products' metadata: values that would read 1000 too high
    Case("apply-baseline-04-without-offsets", "offsets",
         _apply("--input", "{in}/s2_n0400_nooff.SAFE", "--model", "s2-20m-x2", "--output", "{out}/sr.tif"),
         ERROR, r"\(processing baseline 04.00\) gives no RADIO_ADD_OFFSET for band\(s\) B2, B3, B4, B8 in "
                r"'MTD_MSIL1C.xml': without it their values would read 1000 too high", "nothing",
         setup=given("s2_n0400_nooff.SAFE")),
    Case("apply-baseline-04-one-offset-missing", "offsets",
         _apply("--input", "{in}/s2_n0400_b5off.SAFE", "--model", "s2-20m-x2", "--output", "{out}/sr.tif"),
         ERROR, r"gives no RADIO_ADD_OFFSET for band\(s\) B5 in 'MTD_MSIL1C.xml'", "nothing",
         setup=given("s2_n0400_b5off.SAFE")),
    Case("apply-baseline-04-empty-offset", "offsets",
         _apply("--input", "{in}/s2_n0400_emptyoff.SAFE", "--model", "s2-20m-x2", "--output", "{out}/sr.tif"),
         ERROR, r"'MTD_MSIL1C.xml' of product '.*' has a damaged RADIO_ADD_OFFSET \(band_id \"4\": \"\"\).*download "
                r"the product again", "nothing", setup=given("s2_n0400_emptyoff.SAFE")),
    Case("apply-l2a-baseline-04-without-offsets", "offsets",
         _apply("--input", "{in}/s2a_n0400_nooff.SAFE", "--model", "s2-20m-x2", "--output", "{out}/sr.tif"),
         ERROR, r"gives no BOA_ADD_OFFSET for band\(s\) B2, B3, B4, B8 in 'MTD_MSIL2A.xml'", "nothing",
         setup=given("s2a_n0400_nooff.SAFE")),
    Case("extract-baseline-04-without-offsets", "offsets",
         _extract("--input", "{in}/s2_n0400_nooff.SAFE", "--bands", S2_BANDS, "--patch-size", "8", "--out",
                  "{out}/set"),
         ERROR, r"gives no RADIO_ADD_OFFSET for band\(s\) B2, B3, B4, B8", "nothing",
         setup=given("s2_n0400_nooff.SAFE")),
    Case("evaluate-baseline-04-one-offset-missing", "offsets",
         _evaluate("--hr", "{in}/s2_n0400_b5off.SAFE", "--bands", "B5,B6,B7", *M),
         ERROR, r"gives no RADIO_ADD_OFFSET for band\(s\) B5", "nothing", setup=given("s2_n0400_b5off.SAFE")),

    # pixel types, sensor files, scheduler addresses: checked at the door, never "unexpected"
    Case("apply-int64-image", "pixel type", _apply("--input", "{in}/int64.tif", *M, "--output", "{out}/sr.tif"),
         OK, r"^wrote .*sr.tif \(812 x 628 pixels, x4[,)]", "the output, Int64 like its input",
         setup=given("int64.tif"), check=pixel_type("sr.tif", "Int64")),
    Case("apply-uint64-image", "pixel type", _apply("--input", "{in}/uint64.tif", *M, "--output", "{out}/sr.tif"),
         OK, r"^wrote .*sr.tif \(812 x 628 pixels, x4[,)]", "the output, UInt64 like its input",
         setup=given("uint64.tif"), check=pixel_type("sr.tif", "UInt64")),
    Case("apply-complex-image", "pixel type", _apply("--input", "{in}/cint16.tif", *M, "--output", "{out}/sr.tif"),
         ERROR, r"input '.*cint16.tif' has complex pixels \(complex64\): sr4rs reads real numbers", "nothing",
         setup=given("cint16.tif")),
    Case("apply-signed-byte-image", "pixel type",
         _apply("--input", "{in}/signed_byte.tif", *M, "--output", "{out}/sr.tif"),
         ERROR, r"input '.*signed_byte.tif' has signed 8-bit pixels, which GDAL .* reads as unsigned", "nothing",
         setup=given("signed_byte.tif")),
] + [
    Case(f"apply-sensor-file-dtype-{dtype}", "pixel type",
         _apply("--input", "{in}/landsat_c2", "--sensor", f"{{in}}/sensor_{dtype}.json", "--bands", "B4,B3,B2", *M,
                "--output", "{out}/sr.tif"),
         ERROR, rf"sensor file '.*sensor_{dtype}.json': field 'dtype' '{dtype}' is not a pixel type of a product's "
                "bands", "nothing", setup=given("landsat_c2", f"sensor_{dtype}.json"))
    for dtype in ("float16", "bool", "complex64", "datetime64")
] + [
    Case(f"api-array-{name}", "pixel type", _api(f"memory-{name}"),
         ERROR, rf"array '<memory>' has {kind} pixels \({dtype}\): sr4rs reads real numbers", "nothing")
    for name, kind, dtype in (("bool", "boolean", "bool"), ("complex", "complex", "complex64"),
                              ("object", "non-numeric", "object"))
] + [
    Case(f"api-array-{dtype}", "pixel type", _api(f"memory-{dtype}"),
         OK, rf"^wrote .*sr.tif: {written}, min -\d", f"the output, {written}, negative values kept")
    for dtype, written in (("float16", "Float32"), ("int64", "Int64"), ("int8", "Int16"))
] + [
    Case(f"api-geotiff-sink-{dtype}", "pixel type", _api(f"sink-{dtype}"),
         ERROR, rf"a GeoTIFF cannot hold {dtype} pixels exactly .*give one of uint8, .*float64", "nothing")
    for dtype in ("float16", "int8")
] + [
    Case("apply-many-scheduler-file-empty", "scheduler",
         _apply_many("{in}/landsat.tif", *M, "--output-dir", "{out}/sr", "--scheduler", "{in}/sched_empty.json"),
         ERROR, r"scheduler file '.*sched_empty.json' holds no scheduler address", "nothing (no --output-dir)",
         setup=given("sched_empty.json")),
    Case("apply-many-scheduler-file-garbled", "scheduler",
         _apply_many("{in}/landsat.tif", *M, "--output-dir", "{out}/sr", "--scheduler", "{in}/sched_garbled.json"),
         ERROR, r"scheduler file '.*sched_garbled.json' holds no scheduler address", "nothing (no --output-dir)",
         setup=given("sched_garbled.json")),
    Case("apply-many-scheduler-file-missing", "scheduler",
         _apply_many("{in}/landsat.tif", *M, "--output-dir", "{out}/sr", "--scheduler", "{in}/scheduler.json"),
         ERROR, r"scheduler file '.*scheduler.json' does not exist: check --scheduler", "nothing (no --output-dir)"),
    Case("apply-many-scheduler-dashboard-address", "scheduler",
         _apply_many("{in}/landsat.tif", *M, "--output-dir", "{out}/sr", "--scheduler", "http://127.0.0.1:8787"),
         ERROR, r"--scheduler 'http://127.0.0.1:8787' is a web address \(the scheduler's dashboard.*tcp://HOST:8786",
         "nothing (no --output-dir)"),
    Case("apply-many-scheduler-file-dashboard-address", "scheduler",
         _apply_many("{in}/landsat.tif", *M, "--output-dir", "{out}/sr", "--scheduler", "{in}/sched_dashboard.json"),
         ERROR, r"the address in scheduler file '.*sched_dashboard.json' is a web address", "nothing (no --output-dir)",
         setup=given("sched_dashboard.json")),
    Case("apply-many-scheduler-unknown-scheme", "scheduler",
         _apply_many("{in}/landsat.tif", *M, "--output-dir", "{out}/sr", "--scheduler", "udp://127.0.0.1:8786"),
         ERROR, r"has the scheme 'udp', which Dask does not speak", "nothing (no --output-dir)"),
    Case("apply-many-scheduler-without-port", "scheduler",
         _apply_many("{in}/landsat.tif", *M, "--output-dir", "{out}/sr", "--scheduler", "tcp://127.0.0.1"),
         ERROR, r"--scheduler 'tcp://127.0.0.1' has no port: give it as tcp://HOST:PORT", "nothing (no --output-dir)"),
    Case("apply-many-scheduler-refused", "scheduler",
         _apply_many("{in}/landsat.tif", *M, "--output-dir", "{out}/sr", "--scheduler", "tcp://127.0.0.1:1"),
         ERROR, r"cannot reach the Dask scheduler at 'tcp://127.0.0.1:1' \(nothing listens there\)",
         "nothing (no --output-dir); at once, not after Dask's 20 s"),
    Case("apply-many-resume-beside-scenes", "scheduler",
         _apply_many("{in}/scenes/*.tif", *M, "--output-dir", "{in}/scenes"),
         OK, r"0 scene\(s\) written, 1 finished before, 0 failed", "the scene and its output, unchanged",
         setup=scenes_with_outputs),
    Case("apply-many-resume-scenes-listed-by-the-shell", "scheduler",
         _apply_many("{in}/scenes/a.tif", "{in}/scenes/a_x4.tif", *M, "--output-dir", "{in}/scenes"),
         OK, r"0 scene\(s\) written, 1 finished before, 0 failed", "the scene and its output, unchanged",
         setup=scenes_with_outputs),

    # checks made before any computation
    Case("apply-all-bands-ts-not-multiple", "late check", _apply(*ALL, "--output", "{out}/all.tif", "--ts", "100"),
         ERROR, r"model 's2-60m-x6': --ts 100 must be a positive multiple of the scale factor 6", NO_QUICKLOOK,
         setup=given("s2.SAFE")),
    Case("apply-all-bands-pad-not-multiple", "late check", _apply(*ALL, "--output", "{out}/all.tif", "--pad", "8"),
         ERROR, r"model 's2-60m-x6': --pad 8 must be a non-negative multiple of 6", NO_QUICKLOOK,
         setup=given("s2.SAFE")),
    Case("apply-all-bands-single-input-model", "late check",
         _apply("--input", "{in}/s2.SAFE", *M, "--all-bands", "--output", "{out}/all.tif"),
         ERROR, r"--all-bands takes fusion models .*but '.*model' is not one", "nothing", setup=given("s2.SAFE")),

    # messages that name the problem and the fix in the user's words
    Case("apply-fusion-model-with-bands", "message",
         _apply("--input", "{in}/s2.SAFE", "--model", "s2-20m-x2", "--bands", S2_BANDS, "--output", "{out}/sr.tif"),
         ERROR, r"the model takes 2 inputs and names their bands \(input_0: B2, B3, B4, B8; input_1: B5, .*\): drop "
                r"--bands$", "nothing", setup=given("s2.SAFE")),
    Case("apply-all-bands-two-inputs", "message",
         _apply("--input", "{in}/s10.tif", "--input", "{in}/s20.tif", "--model", "s2-20m-x2", "--all-bands",
                "--output", "{out}/all.tif"),
         ERROR, r"--all-bands takes one product as --input .*received 2: give the product alone", "nothing",
         setup=given("s10.tif", "s20.tif")),
    Case("apply-all-bands-with-bands", "message", _apply(*ALL, "--bands", "B2", "--output", "{out}/all.tif"),
         ERROR, r"--all-bands takes every band of the product.*: drop --bands", "nothing", setup=given("s2.SAFE")),
    Case("apply-landsat-missing-band", "message",
         _apply("--input", "{in}/landsat_nob2", "--model", "landsat-rgb-x4", "--output", "{out}/sr.tif"),
         ERROR, r"has no file for band\(s\) B2 \(looked for B2: L\[CO\]0\[89\]_L1\*_B2.TIF\)", "nothing",
         setup=given("landsat_nob2")),
    Case("apply-sentinel2-missing-band", "message",
         _apply("--input", "{in}/s2_nob8a.SAFE", "--model", "s2-20m-x2", "--output", "{out}/sr.tif"),
         ERROR, r"has no file for band\(s\) B8A \(looked for B8A: .*_B8A.jp2\)", "nothing",
         setup=given("s2_nob8a.SAFE")),
    Case("apply-product-bands-named-as-given", "message",
         _apply("--input", "{in}/s2.SAFE", "--bands", "B2,B3,B4,B8", *M, "--output", "{out}/sr.tif"),
         ERROR, r"^[^/]*input '[^']*s2.SAFE' \(bands B2, B3, B4, B8\) has 4 band\(s\) but the model expects 3",
         "nothing", setup=given("s2.SAFE")),
    Case("evaluate-product-bands-named-as-given", "message",
         _evaluate("--input", "{in}/s2.SAFE", "--bands", S2_BANDS + ",B1,B9", "--model", "s2-60m-x6"),
         ERROR, r"--border 16 leaves no pixel of '[^']*s2.SAFE' \(bands B1, B9\) \(18 x 12 pixels of the bands "
                r"scored\) to compare", "nothing",
         setup=given("s2.SAFE")),
    Case("extract-fusion-degraded-to-nothing", "message",
         _extract("--input", "{in}/s10_5px.tif", "--input", "{in}/s60_1px.tif", "--patch-size", "6", "--out",
                  "{out}/set"),
         ERROR, r"the images are too small for Wald's protocol: '.*s10_5px.tif' \(5 x 5 pixels\) degraded by 6 is "
                r"0 x 0 pixels.*give a larger area", "nothing", setup=given("s10_5px.tif", "s60_1px.tif")),
    Case("shard-empty-folder", "message", ("{py}", "-m", "sr4rs.cli.main", "shard", "--no-progress", "--lr_patches",
                                           "{in}/empty", "--output", "{out}/shards"),
         ERROR, r"--lr_patches '.*empty' is a folder without patches.json, not a patch set", "nothing",
         setup=given("empty")),
    Case("shard-shards-folder", "message", ("{py}", "-m", "sr4rs.cli.main", "shard", "--no-progress", "--lr_patches",
                                            "{in}/shards", "--output", "{out}/shards"),
         ERROR, r"--lr_patches '.*shards' is a shards folder \(sr4rs train reads it as it is\)", "nothing",
         setup=given("shards")),
    Case("evaluate-too-small-for-some-figures", "message",
         _evaluate("--input", "{in}/s2.SAFE", "--bands", S2_BANDS + ",B1,B9", "--model", "s2-60m-x6", "--border", "1"),
         OK, r"^s2-60m-x6 .* n/a", "nothing (table only): n/a, and a line saying why under the table",
         setup=given("s2.SAFE"), check=says_why("SSIM needs 11 x 11", "consistency needs", "the shift needs",
                                                "synthesis and hallucination")),
]


CASES = [
    # --- inputs the commands cannot use --------------------------------------------------------------
    Case("apply-missing-input", "bad input", _apply("--input", "{in}/nope.tif", *M, "--output", "{out}/sr.tif"),
         ERROR, r"input '.*nope.tif' does not exist: check the path", "nothing"),
    Case("apply-folder-input", "bad input", _apply("--input", "{in}", *M, "--output", "{out}/sr.tif"),
         ERROR, r"is not a product sr4rs knows .*give --sensor NAME", "nothing"),
    Case("apply-not-a-raster", "bad input", _apply("--input", "{in}/notes.txt", *M, "--output", "{out}/sr.tif"),
         ERROR, r"is not a raster GDAL can read", "nothing"),
    Case("apply-truncated-input", "bad input", _apply("--input", "{in}/cut.tif", *M, "--output", "{out}/sr.tif"),
         ERROR, r"cannot be read at columns .*the file is damaged or incomplete", "nothing"),
    Case("apply-band-count", "bad input", _apply("--input", "{in}/rgbn.tif", *M, "--output", "{out}/sr.tif"),
         ERROR, r"has 4 band\(s\) but the model expects 3", "nothing"),
    Case("apply-missing-model", "bad model", _apply("--input", "{in}/landsat.tif", "--savedmodel", "{in}/nomodel",
                                                    "--output", "{out}/sr.tif"),
         ERROR, r"model '.*nomodel' does not exist", "nothing"),
    Case("apply-folder-not-a-model", "bad model", _apply("--input", "{in}/landsat.tif", "--savedmodel", "{in}",
                                                         "--output", "{out}/sr.tif"),
         ERROR, r"is not a SavedModel \(no saved_model.pb inside\)", "nothing"),
    Case("apply-damaged-model-metadata", "bad model",
         _apply("--input", "{in}/landsat.tif", "--savedmodel", "{out}/damaged", "--output", "{out}/sr.tif"),
         ERROR, r"model metadata '.*' is unreadable", "the damaged model only",
         setup=lambda ws: ws.damaged_model("damaged")),
    Case("extract-missing-points", "bad input", _extract("--hr", "{in}/landsat.tif", "--factor", "4", "--patch-size",
                                                         "8", "--points", "{in}/nope.gpkg", "--out-lr", "{out}/lr.tif",
                                                         "--out-hr", "{out}/hr.tif"),
         ERROR, r"points file '.*nope.gpkg' does not exist", "nothing"),
    Case("train-missing-patches", "bad input", ("{py}", "train.py", "--lr_patches", "{in}/nope.tif", "--hr_patches",
                                                "{in}/hr.tif", "--save_ckpt", "{out}/ckpt"),
         ERROR, r"input '.*nope.tif' does not exist", "nothing (no checkpoint folder)"),
    Case("train-truncated-checkpoint", "unexpected error",
         _train("--epochs", "1", "--save_ckpt", "{out}/ckpt", "--load_ckpt", "{out}/damaged_ckpt"),
         ERROR, r"checkpoint '.*' cannot be restored \(.*\): it is corrupt", "the damaged checkpoint only",
         setup=lambda ws: ws.damaged_checkpoint("damaged_ckpt")),
    Case("train-empty-checkpoint-folder", "bad input",
         _train("--epochs", "1", "--save_ckpt", "{out}/ckpt", "--load_ckpt", "{out}/empty"),
         ERROR, r"--load_ckpt '.*empty' holds no checkpoint", "the empty folder only",
         setup=lambda ws: os.mkdir(os.path.join(ws.out, "empty"))),
    Case("evaluate-all-nodata", "nonsense option", _evaluate("--lr", "{in}/zeros.tif", "--nodata", "0", *M),
         ERROR, r"'.*zeros.tif' holds no valid pixel .*check --nodata", "nothing"),
    Case("evaluate-missing-reference", "bad input", _evaluate("--hr", "{in}/nope.tif", *M),
         ERROR, r"input '.*nope.tif' does not exist", "nothing"),

    # --- outputs that name an input or an earlier result ----------------------------------------------
    Case("apply-output-is-input", "output path", _apply("--input", "{in}/landsat.tif", *M, "--output",
                                                        "{in}/landsat.tif", "--overwrite"),
         ERROR, r"--output '.*landsat.tif' is --input .*" + NEVER_OVER_INPUTS, "nothing; the input unchanged"),
    Case("apply-output-symlink-to-input", "output path", _apply("--input", "{in}/landsat.tif", *M, "--output",
                                                                "{out}/link.tif", "--overwrite"),
         ERROR, r"--output '.*link.tif' is --input .*" + NEVER_OVER_INPUTS, "the link, the input unchanged",
         setup=_symlink_to_input),
    Case("apply-output-hard-link-to-input", "output path", _apply("--input", "{in}/landsat.tif", *M, "--output",
                                                                  "{out}/hard.tif", "--overwrite"),
         ERROR, r"--output '.*hard.tif' is --input .*" + NEVER_OVER_INPUTS, "the link, the input unchanged",
         setup=_hardlink_to_input),
    Case("apply-output-in-model-folder", "output path", _apply("--input", "{in}/landsat.tif", *M, "--output",
                                                               "{model}/sr.tif"),
         ERROR, r"--output '.*sr.tif' is inside --savedmodel .*" + NEVER_OVER_INPUTS, "nothing"),
    Case("apply-quicklook-is-input", "output path", _apply("--input", "{in}/landsat.tif", *M, "--output",
                                                           "{out}/sr.tif", "--quicklook", "{in}/landsat.tif",
                                                           "--overwrite"),
         ERROR, r"--quicklook '.*landsat.tif' is --input .*" + NEVER_OVER_INPUTS, "nothing: refused before computing"),
    Case("apply-quicklook-is-output", "output path", _apply("--input", "{in}/landsat.tif", *M, "--output",
                                                            "{out}/sr.tif", "--quicklook", "{out}/sr.tif"),
         ERROR, r"--output '.*sr.tif' is --quicklook .*give each output a path of its own",
         "nothing: refused before computing"),
    Case("apply-existing-output", "output path", _apply("--input", "{in}/landsat.tif", *M, "--output", "{out}/sr.tif"),
         ERROR, r"--output '.*sr.tif' already exists: remove it or pass --overwrite", "the existing file, unchanged",
         setup=_keep_me("sr.tif")),
    Case("apply-overwrite-foreign-file", "output path", _apply("--input", "{in}/landsat.tif", *M, "--output",
                                                               "{out}/sr.tif", "--overwrite"),
         ERROR, r"exists and is not an earlier output of sr4rs apply: --overwrite replaces only what sr4rs wrote",
         "the existing file, unchanged", setup=_keep_me("sr.tif")),
    Case("apply-overwrite-earlier-output", "output path", _apply("--input", "{in}/landsat.tif", *M, "--output",
                                                                 "{out}/sr.tif", "--overwrite"),
         OK, r"wrote .*sr.tif \(812 x 628 pixels, x4, native float32\)", "the new output", setup=lambda ws: ws.earlier_output("sr.tif")),
    Case("extract-output-is-input", "output path", _extract("--hr", "{in}/landsat.tif", "--factor", "4",
                                                            "--patch-size", "8", "--out-lr", "{out}/lr.tif",
                                                            "--out-hr", "{in}/landsat.tif", "--overwrite"),
         ERROR, r"--out-hr '.*landsat.tif' is --hr .*" + NEVER_OVER_INPUTS, "nothing"),
    Case("extract-same-output-twice", "output path", _extract("--hr", "{in}/landsat.tif", "--factor", "4",
                                                              "--patch-size", "8", "--out-lr", "{out}/p.tif",
                                                              "--out-hr", "{out}/p.tif"),
         ERROR, r"give each output a path of its own", "nothing"),
    Case("extract-overwrite-foreign-csv", "output path", _extract("--hr", "{in}/landsat.tif", "--factor", "4",
                                                                 "--patch-size", "8", "--out-lr", "{out}/lr.tif",
                                                                 "--out-hr", "{out}/hr.tif", "--overwrite"),
         ERROR, r"hr.csv' exists and is not an earlier centres CSV of sr4rs extract", "the existing CSV, unchanged",
         setup=_keep_me("hr.csv")),
    Case("train-savedmodel-is-checkpoint-folder", "output path",
         _train("--epochs", "1", "--save_ckpt", "{out}/ckpt", "--savedmodel", "{out}/ckpt", "--overwrite"),
         ERROR, r"--save_ckpt '.*ckpt' is --savedmodel .*give each output a path of its own",
         "the checkpoints, unchanged; refused before training", setup=lambda ws: ws.checkpoints("ckpt")),
    Case("train-savedmodel-holds-checkpoints", "output path",
         _train("--epochs", "1", "--save_ckpt", "{out}/run/ckpt", "--savedmodel", "{out}/run", "--overwrite"),
         ERROR, r"--save_ckpt '.*run/ckpt' is inside --savedmodel", "the checkpoints, unchanged",
         setup=lambda ws: ws.checkpoints("run/ckpt")),
    Case("train-savedmodel-holds-logs", "output path",
         _train("--epochs", "1", "--save_ckpt", "{out}/ckpt", "--logdir", "{out}/model/logs", "--savedmodel",
                "{out}/model", "--overwrite"),
         ERROR, r"--logdir '.*model/logs' is inside --savedmodel", "nothing"),
    Case("train-savedmodel-holds-patches", "output path",
         _train("--epochs", "1", "--save_ckpt", "{out}/ckpt", "--savedmodel", "{in}", "--overwrite"),
         ERROR, r"--savedmodel '.*' holds --lr_patches .*" + NEVER_OVER_INPUTS, "nothing; the patches unchanged"),
    Case("train-overwrite-foreign-folder", "output path",
         _train("--epochs", "1", "--save_ckpt", "{out}/ckpt", "--savedmodel", "{out}/notes", "--overwrite"),
         ERROR, r"--savedmodel '.*notes' exists and is not an earlier SavedModel exported by sr4rs",
         "the folder, unchanged", setup=lambda ws: ws.folder_with_file("notes")),
    Case("train-checkpoint-folder-is-a-file", "output path", _train("--epochs", "1", "--save_ckpt", "{out}/ckpt"),
         ERROR, r"--save_ckpt '.*ckpt' is a file, not a folder", "the file, unchanged", setup=_keep_me("ckpt")),
    Case("evaluate-out-holds-inputs", "output path", _evaluate("--hr", "{in}/landsat.tif", *M, "--out", "{in}"),
         ERROR, r"--out '.*' holds input .*" + NEVER_OVER_INPUTS, "nothing"),
    Case("evaluate-overwrite-foreign-report", "output path", _evaluate("--hr", "{in}/landsat.tif", *M, "--nodata",
                                                                       "0", "--out", "{out}", "--overwrite"),
         ERROR, r"evaluation.json' exists and is not an earlier evaluation report", "the existing file, unchanged",
         setup=_keep_me("evaluation.json")),
    Case("evaluate-out-is-a-file", "output path", _evaluate("--hr", "{in}/landsat.tif", *M, "--out", "{out}/x"),
         ERROR, r"--out '.*x' is a file, not a folder", "the file, unchanged", setup=_keep_me("x")),

    # --- non-finite pixels -----------------------------------------------------------------------------
    Case("apply-nan-untagged-float", "non-finite", _apply("--input", "{in}/nan.tif", *M, "--output", "{out}/sr.tif"),
         OK, r"wrote .*sr.tif", "the output: NaN exactly at the NaN pixel's 4 x 4 block",
         check=lambda ws, r: ws.check_nan_block("sr.tif")),
    Case("apply-nan-untagged-integer-output", "non-finite",
         _apply("--input", "{in}/nan.tif", *M, "--output", "{out}/sr.tif", "--encoding", "uint16"),
         ERROR, r"has pixels that are not finite .* no nodata value .*pass --nodata VALUE", "nothing"),
    Case("extract-nan-untagged", "non-finite", _extract("--hr", "{in}/nan.tif", "--factor", "4", "--patch-size", "8",
                                                        "--out-lr", "{out}/lr.tif", "--out-hr", "{out}/hr.tif"),
         OK, r"kept \d+ of 24 patches, skipped 0 outside, [1-9]\d* nodata", "the patches, none with NaN",
         check=lambda ws, r: ws.check_finite_patches()),
    Case("evaluate-nan-untagged", "non-finite", _evaluate("--hr", "{in}/nan.tif", *M, "--border", "0"),
         OK, r"model", "nothing (table only); every figure finite", check=lambda ws, r: ws.check_finite_table(r)),

    # --- errors that used to escape as "unexpected" -----------------------------------------------------
    Case("evaluate-exact-reproduction", "unexpected error", _evaluate("--hr", "{in}/const.tif", "--scale", "4",
                                                                      "--border", "0"),
         OK, r"nearest +inf +1\.0000", "nothing (table only)"),

    # --- nonsense options ----------------------------------------------------------------------------
    Case("apply-ts-0", "nonsense option", _apply("--input", "{in}/landsat.tif", *M, "--output", "{out}/sr.tif",
                                                 "--ts", "0"),
         ERROR, r"--ts 0 is out of range: give 1 to 8192 output pixels", "nothing"),
    Case("apply-pad-100000", "nonsense option", _apply("--input", "{in}/landsat.tif", *M, "--output", "{out}/sr.tif",
                                                       "--pad", "100000"),
         ERROR, r"--pad 100000 is out of range: give 0 to 1024 output pixels", "nothing"),
    Case("apply-ts-not-multiple", "nonsense option", _apply("--input", "{in}/landsat.tif", *M, "--output",
                                                            "{out}/sr.tif", "--ts", "30"),
         ERROR, r"--ts 30 must be a positive multiple of the scale factor 4", "nothing"),
    Case("apply-batch-size-0", "nonsense option", _apply("--input", "{in}/landsat.tif", *M, "--output", "{out}/sr.tif",
                                                         "--batch-size", "0"),
         ERROR, r"--batch-size 0 is out of range: give 1 to 256", "nothing"),
    Case("apply-scale-0", "nonsense option", _apply("--input", "{in}/rgbn.tif", "--savedmodel", "{tf1}", "--output",
                                                    "{out}/sr.tif", "--scale", "0"),
         ERROR, r"--scale 0 is out of range", "nothing"),
    Case("apply-creation-option", "nonsense option", _apply("--input", "{in}/landsat.tif", *M, "--output",
                                                            "{out}/sr.tif", "-co", "COMPRESS"),
         ERROR, r"creation option 'COMPRESS' is not KEY=VALUE", "nothing"),
    Case("extract-patch-size-0", "nonsense option", _extract("--hr", "{in}/landsat.tif", "--factor", "4",
                                                             "--patch-size", "0", "--out-lr", "{out}/lr.tif",
                                                             "--out-hr", "{out}/hr.tif"),
         ERROR, r"--patch-size must be a positive integer", "nothing"),
    Case("extract-val-fraction", "nonsense option", _extract("--hr", "{in}/landsat.tif", "--factor", "4",
                                                             "--patch-size", "8", "--val-fraction", "1.5",
                                                             "--out-lr", "{out}/lr.tif", "--out-hr", "{out}/hr.tif"),
         ERROR, r"--val-fraction must be in \[0, 1\), received 1.5", "nothing"),
    Case("train-epochs-0", "nonsense option", _train("--epochs", "0", "--save_ckpt", "{out}/ckpt"),
         ERROR, r"--epochs must be at least 1, received 0", "nothing"),
    Case("evaluate-border-negative", "nonsense option", _evaluate("--hr", "{in}/landsat.tif", *M, "--border", "-1"),
         ERROR, r"--border -1 must be 0 or more", "nothing"),

    # --- a clean run prints the result and nothing else -------------------------------------------------
    Case("apply-cog", "noise", _apply("--input", "{in}/landsat.tif", *M, "--output", "{out}/sr.tif", "--cog"),
         OK, r"^wrote .*sr.tif \(812 x 628 pixels, x4, native float32\) in [\d.]+ s$", "the COG",
         check=lambda ws, r: ws.check_cog("sr.tif")),
    Case("apply-constant-image", "noise", _apply("--input", "{in}/const.tif", *M, "--output", "{out}/sr.tif",
                                                 "--quicklook", "{out}/sr.png"),
         OK, r"^wrote .*sr.tif \(256 x 256 pixels, x4, native float32\) in [\d.]+ s and .*sr.png$", "the output and its quicklook"),
    Case("evaluate-constant-reference", "noise", _evaluate("--hr", "{in}/const.tif", *M, "--border", "0"),
         OK, r"test|x4|model", "nothing (table only)"),

    # --- disks: full, read-only ---------------------------------------------------------------------------
    Case("apply-disk-full", "disk", _apply("--input", "{in}/landsat.tif", *M, "--output", "{out}/sr.tif"),
         ERROR, r"writing '.*sr.tif' failed: the disk holding '.*' is full", "nothing", disk="full:256k"),
    Case("apply-read-only-folder", "disk", _apply("--input", "{in}/landsat.tif", *M, "--output", "{out}/sr.tif"),
         ERROR, r"output folder '.*' is not writable", "nothing", disk="readonly"),
    Case("apply-missing-output-folder", "disk", _apply("--input", "{in}/landsat.tif", *M, "--output",
                                                       "{out}/no/sr.tif"),
         ERROR, r"output folder '.*no' does not exist: create it first", "nothing"),
    Case("extract-disk-full", "disk", _extract("--hr", "{in}/landsat.tif", "--factor", "2", "--patch-size", "16",
                                               "--step", "4", "--out-lr", "{out}/lr.tif", "--out-hr", "{out}/hr.tif",
                                               "--encoding", "float64"),
         ERROR, r"the disk holding '.*' is full", "nothing", disk="full:128k"),
    Case("extract-read-only-folder", "disk", _extract("--hr", "{in}/landsat.tif", "--factor", "4", "--patch-size",
                                                      "8", "--out-lr", "{out}/lr.tif", "--out-hr", "{out}/hr.tif"),
         ERROR, r"output folder '.*' is not writable", "nothing", disk="readonly"),
    Case("train-disk-full-checkpoint", "disk", _train("--epochs", "2", "--save_ckpt", "{out}/ckpt"),
         ERROR, r"the disk holding '.*ckpt' is full", "nothing (the checkpoint folder it made is taken back)",
         disk="full:48k"),
    Case("train-read-only-checkpoint-folder", "disk", _train("--epochs", "1", "--save_ckpt", "{out}/ckpt"),
         ERROR, r"the folder holding --save_ckpt '.*' is not writable", "nothing", disk="readonly"),
    Case("train-no-parents", "disk", _train("--epochs", "1", "--save_ckpt", "{out}/ckpt", "--no_parents",
                                            "--savedmodel", "{out}/no/model"),
         ERROR, r"the folder holding --savedmodel '.*no' does not exist: create it first", "nothing"),
    Case("train-read-only-logdir", "disk", _train("--epochs", "1", "--save_ckpt", "{in}/../ckpt", "--logdir",
                                                  "{out}/logs"),
         ERROR, r"the folder holding --logdir '.*' is not writable", "nothing", disk="readonly"),
    Case("train-disk-full-export", "disk", _train("--epochs", "1", "--save_ckpt", "{in}/../ckpt", "--savedmodel",
                                                  "{out}/model"),
         ERROR, r"SavedModel '.*model'.*(full|No space left)", "the checkpoints (beside the inputs); no model, no "
         "temporary folder", disk="full:128k", keeps=("ckpt/",)),
    Case("evaluate-disk-full", "disk", _evaluate("--hr", "{in}/landsat.tif", *M, "--nodata", "0", "--out", "{out}"),
         ERROR, r"evaluating needs up to .* of scratch images in '.*' but only .* are free", "nothing",
         disk="full:64k"),
    Case("evaluate-read-only-folder", "disk", _evaluate("--hr", "{in}/landsat.tif", *M, "--out", "{out}/eval"),
         ERROR, r"cannot create --out folder '.*eval' \(Read-only file system\)", "nothing", disk="readonly"),

    # --- interruptions -----------------------------------------------------------------------------------
    Case("apply-sigint", "signal", _apply("--input", "{in}/example.tif", *M, "--output", "{out}/sr.tif", "--ts", "16",
                                          "--batch-size", "1"),
         SIGINT_EXIT, r"interrupted: nothing was written", "nothing", signal=signal.SIGINT, wait=_partial),
    Case("apply-sigterm", "signal", _apply("--input", "{in}/example.tif", *M, "--output", "{out}/sr.tif", "--ts", "16",
                                           "--batch-size", "1"),
         SIGTERM_EXIT, r"interrupted: nothing was written", "nothing", signal=signal.SIGTERM, wait=_partial),
    Case("apply-sighup", "signal", _apply("--input", "{in}/example.tif", *M, "--output", "{out}/sr.tif", "--ts", "16",
                                          "--batch-size", "1"),
         SIGHUP_EXIT, r"interrupted: nothing was written", "nothing", signal=signal.SIGHUP, wait=_partial),
    Case("apply-sigkill", "signal", _apply("--input", "{in}/example.tif", *M, "--output", "{out}/sr.tif", "--ts", "16",
                                           "--batch-size", "1"),
         -signal.SIGKILL, r"", "only a hidden .sr.tif.*.partial.tif, never sr.tif", signal=signal.SIGKILL,
         wait=_partial, leftover=(".partial.tif",), keeps=("out/.sr.tif.",)),
    Case("extract-sigterm", "signal", _extract("--hr", "{in}/example.tif", "--factor", "2", "--patch-size", "16",
                                               "--step", "2", "--out-lr", "{out}/lr.tif", "--out-hr", "{out}/hr.tif"),
         SIGTERM_EXIT, r"interrupted: nothing was written", "nothing", signal=signal.SIGTERM, wait=_partial),
    Case("train-sigterm", "signal", _train("--epochs", "500", "--save_ckpt", "{out}/ckpt", "--savedmodel",
                                           "{out}/model"),
         SIGTERM_EXIT, r"interrupted: the last checkpoint is .*ckpt-\d+ \(in .*ckpt\); --load_ckpt .*ckpt resumes it",
         "the checkpoints saved so far; no model, no temporary", signal=signal.SIGTERM, wait=_checkpoint_saved,
         keeps=("out/ckpt/",)),
    Case("evaluate-sigterm", "signal", _evaluate("--hr", "{in}/example.tif", *M, "--ts", "16", "--out", "{out}"),
         SIGTERM_EXIT, r"interrupted: nothing was written", "nothing (its scratch folder removed)",
         signal=signal.SIGTERM, wait=_evaluation_started),
] + NEWER_PATHS

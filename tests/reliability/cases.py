"""The reliability table: each case is a real command on real pixels, what the user must see, the exit
status, and what may be left on disk. ``test_reliability.py`` runs every case; ``make_doc.py`` writes
docs/reliability.md from this table (a test checks that the two agree)."""
from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

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


def _train(*args):
    """train.py with sr4rs's checkpoint folder layout (--ckpt_folder), whose checks these cases show."""
    return ("{py}", "train.py", "--lr_patches", "{in}/lr.tif", "--hr_patches", "{in}/hr.tif", "--arch", "edsr",
            "--depth", "8", "--nresblocks", "1", "--batchsize", "4", "--ganweight", "0", "--no-progress",
            "--ckpt_folder", *args)


def _evaluate(*args):
    return ("{py}", "-m", "sr4rs.cli.main", "evaluate", "--no-progress", *args)


M = ("--savedmodel", "{model}")  # the x4 test model
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
         OK, r"wrote .*sr.tif \(812 x 628 pixels, x4\)", "the new output", setup=lambda ws: ws.earlier_output("sr.tif")),
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
         OK, r"^wrote .*sr.tif \(812 x 628 pixels, x4\) in [\d.]+ s$", "the COG",
         check=lambda ws, r: ws.check_cog("sr.tif")),
    Case("apply-constant-image", "noise", _apply("--input", "{in}/const.tif", *M, "--output", "{out}/sr.tif",
                                                 "--quicklook", "{out}/sr.png"),
         OK, r"^wrote .*sr.tif \(256 x 256 pixels, x4\) in [\d.]+ s and .*sr.png$", "the output and its quicklook"),
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
]

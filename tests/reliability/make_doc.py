"""Write docs/reliability.md from the table of cases: ``python tests/reliability/make_doc.py``."""
import os
import re
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from cases import CASES  # noqa: E402

HEADER = """# Reliability

How every command behaves when it is given something it cannot use, told to write where it must not, run out
of disk, or stopped. Each row is a test in `tests/reliability/test_reliability.py`, which runs the real command
on real pixels (crops of the shared Landsat 8, RGBN and Sentinel-2 imagery), checks the exit status and the
message, checks by checksum that no input or model changed, and lists what is left on disk; the table below is
written from the same list of cases (`python tests/reliability/make_doc.py`), and a test checks that they agree.

The rules the rows check:

- **A failure is one line** on stderr naming the problem and the fix, with exit status 1 (2 for a command line
  the parser rejects), never a traceback, never "unexpected", never a Python or GDAL warning.
- **Nothing half-written.** Files are written under a hidden temporary name (`.NAME.XXXXXXXX.partial.EXT`) and
  renamed when complete; a failure, a full disk, Ctrl-C (SIGINT), SIGTERM (`timeout`, `docker stop`, Slurm,
  Kubernetes) or SIGHUP removes them and exits with 128 + the signal's number (130, 143, 129). Only SIGKILL,
  which no program can catch, can leave a hidden `.partial` file, never something that looks finished.
- **No command writes over what it reads.** Every path a command will write (`--output`, `--quicklook`,
  `--out-lr`/`--out-hr` and their CSVs, `--out`, `--savedmodel`, `--save_ckpt`, `--logdir`) is checked before
  any work against every path it reads (the inputs and every file they are made of, the model folder, the
  patches, the checkpoint it resumes) and against each other: the same file, by name, symbolic link or hard
  link, or one inside the other. `--overwrite` replaces only an earlier output of the same kind (an image
  `sr4rs apply` wrote, patches and CSVs `sr4rs extract` wrote, a SavedModel folder holding nothing else,
  evaluation reports), never anything else; `--save_ckpt` may be the folder `--load_ckpt` resumes.
- **One check for every writer.** `--all-bands` and its `--quicklook`, `apply-many`'s outputs and `--output-dir`,
  and the Python API go through the check plain `apply` makes, before any model runs: every file of a product
  (`MTD_MSIL1C.xml`, `manifest.safe`, a band file, by name or link) is an input; a quicklook folder that does not
  exist is found first. Temporary names are unique per run, and a finished file is renamed into place only if no
  other run put one there meanwhile: two runs on one output leave one run's result, whole, and the other says why.
- **Images of several resolutions are checked together** (`apply` of a fusion model, `extract --input`,
  `evaluate --input`, the API): both georeferenced, in one CRS (both named when they differ), the coarser grid
  nested in the finer one from the same corner; messages name the files as the user gave them.
- **Odd inputs are refused at the door, never "unexpected"**: complex, boolean, signed-byte or non-numeric pixels,
  sensor files whose `dtype` no product band can have, scheduler addresses Dask cannot use, a Sentinel-2 product
  of baseline 04.00 or later whose metadata lacks a band's radiometric offset (its values would read 1000 too
  high). `evaluate` prints `n/a` for a figure it cannot measure and says why under the table.
- **NaN and infinite pixels are nodata**, whatever the file's tag says: masked before a model, written as
  nodata (NaN in a float output without nodata value) exactly where they were, skipped by `extract`, left out
  by `evaluate`.

| case | class | command | what the user sees | exit | left on disk |
| --- | --- | --- | --- | --- | --- |
"""

FOOTER = """| concurrent-runs-on-one-output | concurrency | two `sr4rs apply --output {out}/sr.tif` started together | one finishes; the other: `... already exists` or `... was written by another run ...` | 0 and 1 | one complete sr.tif, no temporary |
| all-bands-and-apply-on-one-output | concurrency | `sr4rs apply --model s2-20m-x2 --all-bands` of two products (their pixels 500 apart) and `sr4rs apply` of each, all to `{out}/one.tif`, each held (SIGSTOP) once it passed its checks, then all let go | one finishes; the three others: `'…one.tif' was written by another run (or program) while this one worked on it: that file is kept and this result dropped; …` | 0 and 1, 1, 1 | one complete one.tif, every band from one product, no temporary |

`{in}` is a folder of input copies, `{out}` the output folder (a 48 to 256 KiB or a read-only tmpfs for the
disk rows, mounted by the tests, which run as root in CI), `{model}` an x4 test model, `{tf1}` an SR4RS-style
TF1 model without metadata. The signal rows wait for an observable state before signalling (the partial
output file exists, the first checkpoint is saved, the evaluation's scratch folder holds an image), never for
a time.
"""


def _command(argv):
    words = [w for w in argv if w != "{py}"]
    if words[:2] == ["-m", "sr4rs.cli.main"]:
        words = ["sr4rs"] + words[2:]
    elif words[0].endswith(".py"):  # train.py, tests/reliability/api_calls.py
        words = ["python"] + words
    return "`" + " ".join(w if " " not in w and "*" not in w else f"'{w}'" for w in words).replace("|", "\\|") + "`"


def _says(pattern):
    if not pattern:
        return "(killed: nothing)"
    text = pattern.replace(".*", "…").replace("\\(", "(").replace("\\)", ")").replace("\\[", "[").replace("\\]", "]")
    text = text.replace("\\d+", "N").replace("[1-9]N", "N").replace("[\\d.]+", "N").replace("\\.", ".")
    text = re.sub(r"^\^|\$$", "", text).replace("|", " or ")
    return text.replace('\\"', '"').replace("\\*", "*").replace("<", "&lt;")


def _exit(case):
    return f"killed ({signal.Signals(-case.exit).name})" if case.exit < 0 else str(case.exit)


def markdown() -> str:
    rows = [f"| {c.id} | {c.kind} | {_command(c.argv)} | {_says(c.says)} | {_exit(c)} | {c.left} |" for c in CASES]
    return HEADER + "\n".join(rows) + "\n" + FOOTER


if __name__ == "__main__":
    path = os.path.join(HERE, "..", "..", "docs", "reliability.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write(markdown())
    print(f"wrote {os.path.normpath(path)} ({len(CASES) + 1} cases)")

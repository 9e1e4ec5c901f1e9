"""A short soak of the DEEPaaS service: benchmarks/soak_deepaas.py for about a minute (the real deepaas-run,
3 clients and a training client, 2 workers): only the answers the service means to give (200, 4xx for bad
inputs, 429 for a second training, 503 while busy), nothing grown beyond the soak's tolerances from its first
quarter to its last, and nothing left behind (temporary files, training processes, models nobody asked for).
A training is cancelled in its first second, another runs to its end and its model is used."""
import csv
import importlib.util
import os

import pytest

from conftest import ROOT

try:
    import deepaas  # noqa: F401
    import psutil  # noqa: F401
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip("deepaas is not installed (pip install -r requirements-deepaas.txt)", allow_module_level=True)


def _soak():
    spec = importlib.util.spec_from_file_location("soak_deepaas", os.path.join(ROOT, "benchmarks", "soak_deepaas.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_minute_of_mixed_traffic_leaves_nothing_and_grows_nothing(tmp_path):
    soak = _soak()
    result = soak.run(60, clients=3, workers=2, out=str(tmp_path), interval=4)
    print(soak.report(result))
    assert result["unexpected"] == []
    assert result["leftovers"] == []
    assert soak.grew(result) == []
    counts = result["counts"]
    kinds = {kind for kind, _ in counts}
    assert {"predict", "bad input", "over the upload limit", "over the pixel limit", "gone mid-upload"} <= kinds
    assert counts[("cancel", 200)] >= 1 and counts[("train", 429)] >= 1
    assert result["trained"] and counts[("trained model", 200)] >= 1  # a model trained to the end, then used
    with open(tmp_path / "soak.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) >= 10 and rows[-1]["tmp_files"] == "0"  # (training processes: the leftovers above)
    assert (tmp_path / "soak.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

#!/usr/bin/env python3
"""A soak of the DEEPaaS service: the real ``deepaas-run`` on a loopback port, under mixed traffic from several
clients for a bounded time: predictions of every answer type (GeoTIFF, PNG, JSON), bad inputs, clients that go
away mid-upload, trainings cancelled at random instants (the first second included) and trainings run to the
end, and a prediction with each model a training made. Every few seconds it samples the server and its
processes (memory, open files, threads, child processes, training processes) and its temporary folder, into a
CSV and a PNG plot. At the end it checks that every answer was one the service means to give, that nothing
grew beyond the tolerances below from the first minute to the last, and that nothing is left behind.

Loopback only, bounded in time and count; it starts and stops its own server. Needs requirements-deepaas.txt.

Usage: python benchmarks/soak_deepaas.py [--seconds 600] [--clients 4] [--workers 2] [--out soak]
"""
from __future__ import annotations

import argparse
import collections
import csv
import io
import json
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "integrations"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import psutil  # noqa: E402 (installed with requirements-deepaas.txt)
import requests  # noqa: E402

from deepaas_server import Server  # noqa: E402

LANDSAT = os.path.join(ROOT, "tests", "testdata", "landsat8_rgb_crop.tif")
EXAMPLE = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")
MAX_UPLOAD, MAX_PIXELS = 3_000_000, 200_000
TRAIN = dict(lr_patches="lr.tif", hr_patches="hr.tif", arch="edsr", depth=8, nresblocks=1, batchsize=4,
             ganweight=0, vggweight=0, l1weight=1, l2weight=0, seed=1)
# Growth from the first minute to the last beyond these fails the soak: the server's memory, and the open files
# and threads of the server and its workers (the training processes are counted apart; deepaas replaces a worker
# each time a training is cancelled, so the workers' memory is reported, not held to a bound). Temporary files
# are held to none at the end.
TOLERANCE = {"server_rss_mib": 48, "fds": 16, "threads": 8}
# The answers each kind of request may get: anything else is an error of the service.
EXPECTED = {
    "predict": {200, 503}, "bad input": {400, 413, 422}, "over the upload limit": {413},
    "over the pixel limit": {413}, "gone mid-upload": {None}, "metadata": {200},
    "train": {200, 409, 429}, "cancel": {200}, "training status": {200}, "trained model": {200, 503},
}


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("S2.SAFE/B04.jp2", b"\0" * (40 << 20))
    return buffer.getvalue()


def prepare(base: str) -> dict:
    """Crops to send, and the training patches in the server's data folder."""
    from osgeo import gdal

    from sr4rs.data.extraction import extract_patches

    for d in ("tmp", "data", "models"):
        os.makedirs(os.path.join(base, d))
    crops = []
    for i in range(6):  # 48 x 40 to 88 x 60 pixels of real Landsat data (no fill), x4
        path = os.path.join(base, f"crop{i}.tif")
        gdal.Translate(path, EXAMPLE, srcWin=[(i * 83) % 400, (i * 57) % 400, 48 + 8 * i, 40 + 4 * i])
        crops.append(open(path, "rb").read())
    hr = os.path.join(base, "hr.tif")
    gdal.Translate(hr, EXAMPLE, srcWin=[100, 100, 96, 96])  # 9 patch pairs: 2 steps of 4 per epoch
    extract_patches(None, hr, os.path.join(base, "data", "lr.tif"), os.path.join(base, "data", "hr.tif"), 8,
                    step=8, factor=4)
    bad = [("bad input", b"plain text, no image\n" * 10, {}), ("bad input", open(LANDSAT, "rb").read(),
           {"model": "no-such-model"}), ("bad input", open(LANDSAT, "rb").read(), {"encoding": "float128"}),
           ("bad input", _zip_bomb(), {}), ("over the upload limit", b"\0" * (MAX_UPLOAD + 1), {}),
           ("over the pixel limit", open(EXAMPLE, "rb").read(), {})]
    return {"crops": crops, "bad": bad}


class Soak:
    """The clients, the sampler and their tallies."""

    def __init__(self, server: Server, inputs: dict, deadline: float, seed: int, max_requests: int):
        self.server, self.url = server, server.url + "/v2/models/sr4rs"
        self.inputs, self.deadline, self.max_requests = inputs, deadline, max_requests
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.counts = collections.Counter()  # (kind, status)
        self.unexpected = []
        self.trained = []  # models the trainings made
        self.samples = []

    def more(self) -> bool:
        with self.lock:
            return time.monotonic() < self.deadline and sum(self.counts.values()) < self.max_requests

    def note(self, kind: str, status, detail: str = "") -> None:
        with self.lock:
            self.counts[(kind, status)] += 1
            if status not in EXPECTED[kind]:
                self.unexpected.append(f"{kind}: {status} {detail[:200]}")

    def predict(self, session, kind, body, params, accept="image/tiff"):
        try:
            answer = session.post(f"{self.url}/predict/", params=params, headers={"accept": accept},
                                  files={"data": ("image.tif", body)}, timeout=300)
        except requests.RequestException as err:
            return self.note(kind, type(err).__name__, str(err))
        ok = answer.status_code != 200 or accept != "image/tiff" or answer.content[:4] == b"II*\0"
        self.note(kind, answer.status_code if ok else "bad body", answer.text[:200] if answer.status_code != 200 else "")

    def gone_mid_upload(self) -> None:
        head = b'--b\r\nContent-Disposition: form-data; name="data"; filename="x.tif"\r\n\r\n'
        with socket.create_connection(("127.0.0.1", self.server.port)) as s:
            s.sendall(b"POST /v2/models/sr4rs/predict/ HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                      b"boundary=b\r\nContent-Length: 2500000\r\n\r\n" + head + b"\0" * 1_500_000)
        self.note("gone mid-upload", None)

    def client(self, index: int) -> None:
        """Predictions of every answer type, bad inputs, metadata, models trained here, clients gone."""
        rnd = random.Random(index)
        with requests.Session() as session:
            if index == 0:  # every answer type and every bad input once, then at random
                for accept in ("image/tiff", "image/png", "application/json"):
                    self.predict(session, "predict", self.inputs["crops"][0], {"model": "landsat-rgb-x4"}, accept)
                for kind, body, params in self.inputs["bad"]:
                    self.predict(session, kind, body, params)
                self.gone_mid_upload()
            while self.more():
                roll = rnd.random()
                if roll < 0.55:
                    accept = rnd.choice(["image/tiff", "image/png", "application/json"])
                    self.predict(session, "predict", rnd.choice(self.inputs["crops"]),
                                 {"model": "landsat-rgb-x4"} if rnd.random() < 0.7 else {}, accept)
                elif roll < 0.75:
                    kind, body, params = rnd.choice(self.inputs["bad"])
                    self.predict(session, kind, body, params)
                elif roll < 0.85 and self.trained:
                    self.predict(session, "trained model", self.inputs["crops"][0], {"model": rnd.choice(self.trained)})
                elif roll < 0.95:
                    answer = session.get(f"{self.url}/", timeout=60)
                    self.note("metadata", answer.status_code)
                else:
                    self.gone_mid_upload()

    def train(self, session, mode: str, n: int) -> None:
        """One training: cancelled in its first second, cancelled later, or run to the end and then used."""
        name = f"soak-{n}" if mode == "to the end" else "soak-cancelled"
        epochs = self.random.randint(1, 3) if mode == "to the end" else 10000
        answer = session.post(f"{self.url}/train/", params=dict(TRAIN, model_name=name, epochs=epochs), timeout=60)
        self.note("train", answer.status_code, answer.text)
        if answer.status_code != 200:
            return
        uuid = answer.json()["uuid"]
        again = session.post(f"{self.url}/train/", params=dict(TRAIN, model_name="soak-extra"), timeout=60)
        self.note("train", again.status_code, again.text)  # one training at a time: 429
        if mode == "to the end":
            return self.follow(session, uuid, name)
        time.sleep(self.random.uniform(0, 1) if mode == "first second" else self.random.uniform(1, 40))
        answer = session.delete(f"{self.url}/train/{uuid}", timeout=300)
        cancelled = answer.status_code == 200 and answer.json().get("status") == "cancelled"
        self.note("cancel", answer.status_code if cancelled else "not cancelled", answer.text)

    def follow(self, session, uuid: str, name: str) -> None:
        while True:
            answer = session.get(f"{self.url}/train/{uuid}", timeout=60)
            status = answer.json().get("status") if answer.status_code == 200 else None
            if status != "running":
                break
            time.sleep(1)  # a client polling its training
        self.note("training status", answer.status_code if status == "done" else f"{status}", answer.text)
        if status == "done":
            self.predict(session, "trained model", self.inputs["crops"][1], {"model": name})
            with self.lock:
                self.trained.append(name)

    def trainer(self) -> None:
        modes = ["first second", "to the end", "later"]
        with requests.Session() as session:
            n = 0
            while self.more():
                mode = modes[n] if n < len(modes) else self.random.choice(modes)
                n += 1
                self.train(session, mode, n)

    def sampler(self, interval: float, stop: threading.Event, started: float) -> None:
        while True:
            self.samples.append(sample(self.server, time.monotonic() - started, sum(self.counts.values())))
            if stop.wait(interval):
                self.samples.append(sample(self.server, time.monotonic() - started, sum(self.counts.values())))
                return


def _training_processes(data: str) -> list:
    """The training child processes of this server, wherever they are (a cancelled one outlives its worker)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any(a.endswith("bootstrap.py") for a in p.info["cmdline"] or ()) and \
                    p.environ().get("SR4RS_DEEPAAS_DATA") == data:
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def sample(server: Server, t: float, requests_done: int) -> dict:
    root = psutil.Process(server.process.pid)
    trainings = _training_processes(server.data)
    busy = {p.pid for p in trainings}  # counted apart: they come and go with the trainings
    procs = [root] + [p for p in root.children(recursive=True) if p.pid not in busy]
    row = {"t": round(t, 1), "requests": requests_done, "server_rss_mib": 0.0, "workers_rss_mib": 0.0, "fds": 0,
           "threads": 0, "processes": len(procs), "trainings": len(trainings), "trainings_rss_mib": 0.0}
    for p in procs + trainings:
        try:
            rss = p.memory_info().rss / 2 ** 20
            key = "server_rss_mib" if p.pid == root.pid else "trainings_rss_mib" if p.pid in busy else "workers_rss_mib"
            row[key] += rss
            if p.pid not in busy:
                row["fds"] += p.num_fds()
                row["threads"] += p.num_threads()
        except psutil.NoSuchProcess:
            pass
    files = [os.path.join(d, f) for d, _, fs in os.walk(server.tmp) for f in fs]
    row["tmp_files"] = len(files)
    row["tmp_mib"] = round(sum(os.path.getsize(f) for f in files if os.path.exists(f)) / 2 ** 20, 2)
    for key in ("server_rss_mib", "workers_rss_mib", "trainings_rss_mib"):
        row[key] = round(row[key], 1)
    return row


PLOTTED = [("server_rss_mib", "server memory (MiB)"), ("workers_rss_mib", "workers' memory (MiB)"),
           ("fds", "open files (server, workers)"), ("threads", "threads (server, workers)"),
           ("processes", "processes (server, workers)"), ("trainings", "training processes"),
           ("tmp_mib", "temporary folder (MiB)")]


def plot(samples: list, path: str, title: str) -> None:
    """One panel per figure against time, drawn with Pillow."""
    from PIL import Image, ImageDraw

    width, panel, left, pad = 900, 120, 70, 20
    image = Image.new("RGB", (width, pad * 2 + panel * len(PLOTTED) + 20), "white")
    draw = ImageDraw.Draw(image)
    draw.text((left, 4), title, fill="black")
    t_end = max(s["t"] for s in samples) or 1
    for k, (key, label) in enumerate(PLOTTED):
        top = pad + 10 + k * panel
        values = [s[key] for s in samples]
        low, high = min(values), max(values)
        span = (high - low) or max(abs(high), 1) * 0.1
        low, high = (low - 0.1 * span if low - 0.1 * span >= 0 or low < 0 else 0), high + 0.1 * span
        box = (left, top, width - 10, top + panel - 25)
        draw.rectangle(box, outline="grey")
        points = [(left + (box[2] - left) * s["t"] / t_end, box[3] - (box[3] - top) * (s[key] - low) / (high - low))
                  for s in samples]
        if len(points) > 1:
            draw.line(points, fill="navy", width=2)
        draw.text((left + 5, top + 2), label, fill="black")
        draw.text((4, top), f"{high:.4g}", fill="grey")
        draw.text((4, box[3] - 10), f"{low:.4g}", fill="grey")
    draw.text((left, image.height - 16), f"0 .. {t_end:.0f} s", fill="black")
    image.save(path)


def drift(samples: list, window: float = 60.0) -> dict:
    """Each figure's mean over the first and the last ``window`` seconds (or quarter, when shorter)."""
    t_end = samples[-1]["t"]
    window = min(window, t_end / 4)
    first = [s for s in samples if s["t"] <= window] or samples[:1]
    last = [s for s in samples if s["t"] >= t_end - window] or samples[-1:]
    return {key: (statistics.mean(s[key] for s in first), statistics.mean(s[key] for s in last))
            for key, _ in PLOTTED + [("tmp_files", ""), ("trainings", "")]}


def leftovers(server: Server, trained: list) -> list:
    """What the server left: files in its temporary folder, processes, models folder entries not made."""
    deadline = time.monotonic() + 60  # a training whose worker was killed as it started ends by itself, at once
    while _training_processes(server.data) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = [f"tmp: {f}" for f in os.listdir(server.tmp)]
    left += [f"training process {p.pid}" for p in _training_processes(server.data)]
    allowed = set(trained) | {".checkpoints"}
    left += [f"models: {f}" for f in os.listdir(server.models) if f not in allowed]
    kept = os.path.join(server.models, ".checkpoints")
    if os.path.isdir(kept):
        left += [f"kept: {f}" for f in os.listdir(kept) if f != "soak-cancelled"]
    return left


def run(seconds: float, clients: int, workers: int, out: str, seed: int = 1, max_requests: int = 100_000,
        interval: float = 5.0) -> dict:
    """The soak; returns its tallies, samples, drift and leftovers (and writes out/soak.csv, out/soak.png)."""
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as base:
        inputs = prepare(base)
        server = Server({"TMPDIR": os.path.join(base, "tmp"), "SR4RS_DEEPAAS_DATA": os.path.join(base, "data"),
                         "SR4RS_DEEPAAS_MODELS": os.path.join(base, "models"),
                         "SR4RS_DEEPAAS_MAX_UPLOAD": str(MAX_UPLOAD), "SR4RS_DEEPAAS_MAX_PIXELS": str(MAX_PIXELS)},
                        os.path.join(out, "server.log"), ["--workers", str(workers)])
        server.tmp, server.data, server.models = (os.path.join(base, d) for d in ("tmp", "data", "models"))
        try:
            server.wait()
            soak = Soak(server, inputs, time.monotonic() + seconds, seed, max_requests)
            stop, started = threading.Event(), time.monotonic()
            sampler = threading.Thread(target=soak.sampler, args=(interval, stop, started))
            threads = [threading.Thread(target=soak.client, args=(i,)) for i in range(clients)]
            threads.append(threading.Thread(target=soak.trainer))
            sampler.start()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            stop.set()
            sampler.join()
            wall = time.monotonic() - started
            left = leftovers(server, soak.trained)
        finally:
            server.stop()
    write_csv(soak.samples, os.path.join(out, "soak.csv"))
    title = f"sr4rs DEEPaaS soak: {wall:.0f} s, {clients} clients + 1 training client, {workers} workers"
    plot(soak.samples, os.path.join(out, "soak.png"), title)
    return {"counts": soak.counts, "unexpected": soak.unexpected, "samples": soak.samples, "wall": wall,
            "drift": drift(soak.samples), "leftovers": left, "trained": soak.trained}


def write_csv(samples: list, path: str) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(samples[0]))
        writer.writeheader()
        writer.writerows(samples)


def grew(result: dict) -> list:
    """The figures that grew beyond TOLERANCE from the first minute to the last."""
    return [f"{key}: {a:.1f} -> {b:.1f}" for key, (a, b) in result["drift"].items()
            if key in TOLERANCE and b - a > TOLERANCE[key]]


def report(result: dict) -> str:
    lines = [f"soak of {result['wall']:.0f} s: {sum(result['counts'].values())} requests"]
    by_kind = collections.defaultdict(dict)
    for (kind, status), n in sorted(result["counts"].items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        by_kind[kind][str(status)] = n
    lines += [f"  {kind}: " + ", ".join(f"{status} x{n}" for status, n in statuses.items())
              for kind, statuses in by_kind.items()]
    lines.append(f"  models trained and used: {', '.join(result['trained']) or 'none'}")
    lines.append("  first -> last minute (means): " + "; ".join(
        f"{key} {a:.1f} -> {b:.1f} ({b - a:+.1f})" for key, (a, b) in result["drift"].items()))
    lines.append(f"  unexpected answers: {result['unexpected'] or 'none'}")
    lines.append(f"  grew beyond tolerance {TOLERANCE}: {grew(result) or 'nothing'}")
    lines.append(f"  left behind: {result['leftovers'] or 'nothing'}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="deepaas-run --workers")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--out", default="soak", help="folder for soak.csv, soak.png and server.log")
    args = parser.parse_args()
    result = run(args.seconds, args.clients, args.workers, args.out, max_requests=args.max_requests,
                 interval=args.interval)
    print(report(result))
    print(f"  samples: {os.path.join(args.out, 'soak.csv')}, plot: {os.path.join(args.out, 'soak.png')}")
    return 1 if result["unexpected"] or result["leftovers"] or grew(result) else 0


if __name__ == "__main__":
    sys.exit(main())

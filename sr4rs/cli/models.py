"""``sr4rs models``: the models bundled with sr4rs, their inputs, bands and scale."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def run(args: argparse.Namespace, cancel=None) -> int:
    import json
    from dataclasses import asdict

    from .. import api

    models = api.list_models()
    if args.json:
        print(json.dumps([asdict(m) for m in models], indent=2))
        return 0
    for m in models:
        inputs = "; ".join(f"{i.name}: {', '.join(i.bands)} (x{i.factor} coarser)" for i in m.inputs)
        print(f"{m.name}  x{m.scale}  inputs {inputs} -> {', '.join(m.output_bands)}\n    {m.description}")
    return 0

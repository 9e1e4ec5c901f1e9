"""``sr4rs export-onnx``: write a model as an ONNX file for other runtimes (C++, GIS tools embedding ONNX Runtime).

The file keeps the model's inputs (one per resolution, raw pixel values, NHWC) and its ``output_{pad}``
outputs; bands, factor, scales and margin are in its metadata (key ``sr4rs``, and flat keys).
"""
from __future__ import annotations

import argparse
import sys

PROG = "sr4rs export-onnx"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a bundled model's name (see sr4rs models) or a SavedModel "
                        "folder")
    parser.add_argument("output", metavar="OUT.onnx", help="the ONNX file to write")
    parser.add_argument("--opset", type=int, help="ONNX opset (default 17)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")


def run(args: argparse.Namespace, cancel=None) -> int:
    from .. import api

    path = api.export_onnx(args.model, args.output, overwrite=args.overwrite, opset=args.opset)
    print(f"wrote {path}", file=sys.stderr)
    return 0

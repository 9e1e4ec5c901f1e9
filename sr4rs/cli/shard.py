"""``sr4rs shard``: cut patches images or patch sets into shards that training reads in parallel, from local
disk or from object storage (``--lr_patches /vsis3/bucket/shards``, ``/vsicurl/https://...``)."""
from __future__ import annotations

import argparse
import sys

from . import options as opt
from .common import progress_bar


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..api import DEFAULT_SHARD_SIZE

    parser.add_argument("--lr_patches", nargs="+", required=True, help="LR patches images, or patch set folders "
                        "(from sr4rs extract)")
    parser.add_argument("--hr_patches", nargs="+", default=(), help="HR patches images, same order as --lr_patches "
                        "(not with patch sets)")
    parser.add_argument("--output", required=True, metavar="FOLDER", help="the shards folder to write (give it "
                        "to sr4rs train --lr_patches, here or copied to object storage)")
    parser.add_argument("--shard-size", type=opt.positive_int, default=DEFAULT_SHARD_SIZE, metavar="N",
                        help=f"patches per shard (default {DEFAULT_SHARD_SIZE})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the order patches are dealt into shards "
                        "(default 0)")
    parser.add_argument("--no-shuffle", action="store_true", help="keep the patches in their files' order")
    opt.overwrite(parser, "a shards folder written earlier")
    opt.no_progress(parser)


def run(args: argparse.Namespace, cancel=None) -> int:
    from .. import api

    total = None
    with progress_bar(total, "sharding", unit="patch", disable=args.no_progress) as bar:
        report = api.shard_patches(args.lr_patches, args.hr_patches, args.output, args.shard_size,
                                   seed=None if args.no_shuffle else args.seed, overwrite=args.overwrite,
                                   progress=bar.update, cancel=cancel)
    print(f"wrote {report.shards} shard(s) of {report.patches} patches in {report.output} "
          f"in {report.seconds:.1f} s", file=sys.stderr)
    return 0

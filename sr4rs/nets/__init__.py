"""Networks as Keras builder functions, found by name in one registry.

Each generator module defines ``build(nbands, scale, depth, nresblocks, skip_gain)`` returning a
``keras.Model`` (normalised LR in, a list of HR estimates from the coarsest scale to the full one
out) and ``receptive_radius(scale, nresblocks)``: how far, in LR pixels, an output pixel sees. A new
network is one module here and one line in ``NETWORKS``; the CLI's ``--arch`` choices, the trainer
and the exported margin follow from it. This module does not import TensorFlow: the registry can be
read to build a command line in milliseconds.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Tuple

from ..errors import InputError


@dataclass(frozen=True)
class NetworkInfo:
    module: str
    description: str
    fusion: bool = False  # several inputs at different resolutions (one output on the finest grid)


NETWORKS = {
    "sr4rs": NetworkInfo("sr4rs.nets.sr4rs", "SR4RS's generator (residual encoder, x2 stages with outputs at "
                         "every scale)"),
    "edsr": NetworkInfo("sr4rs.nets.edsr", "EDSR-style light generator (residual blocks at LR resolution, "
                        "sub-pixel upsampling, bicubic skip): the sensible choice on CPUs"),
    "fusion": NetworkInfo("sr4rs.nets.fusion", "DSen2-style multi-resolution fusion (coarse bands to the grid of "
                          "fine ones; trained on patch sets with several inputs)", fusion=True),
}


def names() -> Tuple[str, ...]:
    return tuple(NETWORKS)


def _module(arch: str):
    if arch not in NETWORKS:
        raise InputError(f"unknown --arch '{arch}': choose one of {', '.join(NETWORKS)}")
    return importlib.import_module(NETWORKS[arch].module)


def is_fusion(arch: str) -> bool:
    """Whether ``arch`` takes several inputs (without importing it, nor TensorFlow)."""
    if arch not in NETWORKS:
        raise InputError(f"unknown --arch '{arch}': choose one of {', '.join(NETWORKS)}")
    return NETWORKS[arch].fusion


# The options each network takes beyond its size (``--guide``, ``--normalise``, ``--consistency_layer``), with
# their choices; the first choice is the network's default.
OPTIONS = {
    "sr4rs": {},
    "edsr": {"normalise": ("fixed", "standard")},
    "fusion": {"guide": ("regression", "none"), "normalise": ("standard", "local", "fixed"),
               "consistency": ("backprojection", "none")},
}


def resolved_options(arch: str, options: dict) -> dict:
    """Every option of ``arch``, those not given at the network's default (its first choice)."""
    return {name: options.get(name, choices[0]) for name, choices in OPTIONS.get(arch, {}).items()}


def check_options(arch: str, options: dict) -> None:
    """Refuse an option ``arch`` does not take, or a choice it does not know."""
    known = OPTIONS.get(arch, {})
    for name, value in options.items():
        flag = "--consistency_layer" if name == "consistency" else f"--{name}"
        if name not in known:
            raise InputError(f"--arch {arch} takes no {flag} (given '{value}'): drop it"
                             + (f", or choose --arch {', '.join(a for a in OPTIONS if name in OPTIONS[a])}"
                                if any(name in o for o in OPTIONS.values()) else ""))
        if value not in known[name]:
            raise InputError(f"unknown {flag} '{value}' for --arch {arch}: choose {', '.join(known[name])}")


def build_generator(arch: str, nbands, scale: int, depth: int, nresblocks: int, skip_gain: float = 1.0,
                    **options):
    """The generator ``arch`` for ``nbands`` bands at ``scale``; a fusion network takes ``nbands`` as the
    (band count, factor) of each input, finest first. ``options``: see ``OPTIONS``."""
    if is_fusion(arch):
        return _module(arch).build(nbands, depth, nresblocks, skip_gain=skip_gain, **options)
    return _module(arch).build(nbands, scale, depth, nresblocks, skip_gain=skip_gain, **options)


def receptive_radius_lr(arch: str, scale, nresblocks: int, **options) -> float:
    """How far (in LR pixels; for a fusion network, finest-grid pixels, ``scale`` being its inputs) an output
    pixel of ``arch`` sees; the default margin covers it."""
    return _module(arch).receptive_radius(scale, nresblocks, **options)

"""The check of an input against the statistics a model recorded of its training data (``sr4rs.geo.radiometry``):
one line saying what is likely wrong, never a refusal. Models without statistics are not checked."""
from __future__ import annotations

import os
from typing import Optional, Sequence

from ..geo.radiometry import out_of_range, percentiles
from ..io.statistics import sample_pixels
from .contract import ModelMetadata


def input_warning(paths: Sequence[str], metadata: Optional[ModelMetadata], model_name: str = "the model",
                  nodata: Optional[float] = None) -> Optional[str]:
    """Why the images ``paths`` (one per model input, in order) look unlike the model's training data, or None.
    Each input is sampled (a grid of small windows) and its percentiles compared with the training's."""
    records = (metadata.statistics or {}).get("inputs", []) if metadata is not None else []
    if len(records) != len(paths):
        return None
    levels = metadata.statistics.get("levels", [])
    for path, record in zip(paths, records):
        values = sample_pixels(path, nodata)
        if len(values) < 100 or values.shape[1] != len(record.get("bands", ())):
            continue
        reason = out_of_range(record, percentiles(values), levels)
        if reason:
            name = os.path.splitext(os.path.basename(path))[0]
            return f"'{name}' does not look like the data {model_name} was trained on: {reason}"
    return None

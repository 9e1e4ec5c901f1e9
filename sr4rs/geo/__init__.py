"""Pure geometry and pixel policies: windows and tiling, LR/HR pairs, the nodata rule, pixel types,
degradations, patch placement. Nothing here imports GDAL or TensorFlow."""

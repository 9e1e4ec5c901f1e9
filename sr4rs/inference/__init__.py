"""Running a model over scenes: the plan (one tiling and margin rule for every backend), the streaming
engine, and the OTBTF backend. Depends on raster I/O, geometry and the exported model only, never on
training or evaluation."""

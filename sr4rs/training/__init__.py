"""Training: the configuration, the losses, the SRGAN and its steps, checkpoints, monitoring, and the
run that ties them together and exports a model."""

"""Training data: LR/HR patch pairs cut from images (extraction) and read back as tf.data batches
(datasets). Knows nothing of networks or models."""

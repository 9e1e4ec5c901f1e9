#!/usr/bin/env python3
"""Train a super-resolution network: ``python train.py --lr_patches LR.tif --hr_patches HR.tif --save_ckpt CKPT
--savedmodel MODEL``. Same as ``sr4rs train``; SR4RS's train.py command lines run unchanged."""
import sys

from sr4rs.cli.train import main

if __name__ == "__main__":
    sys.exit(main())

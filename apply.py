#!/usr/bin/env python3
"""Super-resolve a scene: ``python apply.py --input LR.tif --savedmodel MODEL --output SR.tif``.

Same as ``sr4rs apply``; SR4RS's ``sr.py`` command lines run unchanged.
"""
import sys

from sr4rs.cli.apply import main

if __name__ == "__main__":
    sys.exit(main())

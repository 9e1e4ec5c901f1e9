"""``python -m sr4rs``: the same as the ``sr4rs`` command."""
import sys

from sr4rs.cli.main import main

sys.exit(main())

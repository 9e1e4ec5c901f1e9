"""Command-line interface: ``sr4rs <command>``; each command module only parses,
calls the library and turns its errors into a one-line message and an exit code."""


def main(argv=None) -> int:
    from .main import main as _main  # imported late: ``python -m sr4rs.cli.main`` stays warning-free

    return _main(argv)

"""``python -m iamgen`` and the ``iamgen`` script: the command line.

Importing the command line takes a few tenths of a second; a Ctrl-C then (or
before a command's own handler is in place) ends the run as one later does:
one line, exit 130, no traceback.
"""

from __future__ import annotations

import sys

from iamgen.errors import INTERRUPTED_EXIT


def run() -> None:
    """Run the command line."""
    try:
        from iamgen.cli import main

        main()
    except KeyboardInterrupt:
        sys.stderr.write("iamgen: interrupted\n")
        raise SystemExit(INTERRUPTED_EXIT) from None


if __name__ == "__main__":
    run()

"""``python -m iamgen`` and the ``iamgen`` script: the command line.

Importing the command line takes a few tenths of a second; a Ctrl-C then
ends the run as cleanly as one later (one line, exit 130), not with a traceback.
"""

from __future__ import annotations

import sys

INTERRUPTED_EXIT = 130  # as the command line's own (iamgen.cli)


def run() -> None:
    """Run the command line."""
    try:
        from iamgen.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("iamgen: interrupted\n")
        raise SystemExit(INTERRUPTED_EXIT) from None
    try:
        main()
    except KeyboardInterrupt:  # before a command's own handler is in place
        sys.stderr.write("iamgen: interrupted\n")
        raise SystemExit(INTERRUPTED_EXIT) from None


if __name__ == "__main__":
    run()

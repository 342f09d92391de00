"""``python -m iamgen``: the same command line as the ``iamgen`` script."""

from iamgen.cli import main

if __name__ == "__main__":
    main()

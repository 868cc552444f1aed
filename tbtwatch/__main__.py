"""Allow ``python -m tbtwatch``."""

from tbtwatch.cli import main

# The guard matters: the parallel workbook reader starts a "spawn" child, which imports __main__ again.
if __name__ == "__main__":
    main()

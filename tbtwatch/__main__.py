"""Allow ``python -m tbtwatch``."""

from tbtwatch.cli import main

main()

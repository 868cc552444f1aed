"""tbtwatch crawlers package (see DESIGN.md)."""

"""tbtwatch alerts package (see DESIGN.md)."""

"""tbtwatch classifier package (see DESIGN.md)."""

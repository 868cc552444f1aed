"""tbtwatch index package (see DESIGN.md)."""

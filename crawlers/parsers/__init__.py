"""Parsers: pure functions from a fetched body to items, one module per source format.

They raise :class:`crawlers.errors.ParseError` for a page they cannot read, and nothing else; a field that
is missing or malformed is left for the validate pipeline to report, so the item is quarantined with a reason.
"""

"""The offline demo (``tbtwatch demo``): every part of tbtwatch running on bundled fixtures, on one machine.

``mirror`` serves the fixtures under ``site/`` on 127.0.0.1 as a mirror of every source; ``pipeline``
imports two sample recipients, crawls every source from the mirror through the ingest path and sends the
digests to the maildir; ``report`` says what happened and where to look; ``cli`` is the command.
"""

"""MaildirSender: the default channel when no SMTP relay is configured.

Messages become real files in ``$TBTWATCH_HOME/maildir`` (``new/``), readable by any mail client
(``mutt -f``, Thunderbird) or a text editor. A ``Delivered-To`` header records the envelope recipient.
"""

from __future__ import annotations

import mailbox
from pathlib import Path

from alerts.errors import TemporaryFailure
from alerts.sender import Envelope


class MaildirSender:
    """Writes each message as one file in a Maildir."""

    name = "maildir"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._box: mailbox.Maildir | None = None

    async def send(self, envelope: Envelope) -> None:
        """Add the message to the Maildir (atomic: written in tmp/, moved to new/)."""
        try:
            if self._box is None:
                self._box = mailbox.Maildir(self.path, create=True)
            data = b"Delivered-To: " + envelope.rcpt_to.encode("ascii") + b"\r\n" + envelope.data
            # Maildir files use the local line ending.
            self._box.add(data.replace(b"\r\n", b"\n"))
        except OSError as exc:
            raise TemporaryFailure(f"cannot write to maildir {self.path}: {exc}") from exc

    async def close(self) -> None:
        """Nothing to release."""
        self._box = None

"""The bridge's exception tree: small, so that callers can translate it at one boundary.

::

    BridgeError
    ├── PortError        the serial port cannot be opened, read or written
    ├── BoardTimeout     the board did not answer in time (after the allowed retries)
    └── FrameError       bytes that are not a valid frame for this exchange
        ├── ChecksumError    structure right, checksum wrong
        ├── AddressError     a valid frame, but from or for another board
        └── TruncatedFrame   the line went quiet in the middle of a frame
"""

from __future__ import annotations


class BridgeError(Exception):
    """Anything the lock-board bridge could not do."""


class PortError(BridgeError):
    """The serial port could not be opened, read or written.

    ``request_sent`` is true when the failure came after the request had started to go out,
    so the board may have acted on it (an unlock is then uncertain, not "not sent").
    """

    def __init__(self, message: str, request_sent: bool = False) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class BoardTimeout(BridgeError):
    """A board did not answer within the timeout."""

    def __init__(self, message: str, board: int | None = None) -> None:
        super().__init__(message)
        self.board = board


class FrameError(BridgeError):
    """Received bytes that do not make a valid frame."""


class ChecksumError(FrameError):
    """A frame whose structure is right but whose checksum is wrong."""


class AddressError(FrameError):
    """A valid frame from (or for) a board other than the one expected."""

    def __init__(self, message: str, board: int) -> None:
        super().__init__(message)
        self.board = board


class TruncatedFrame(FrameError):
    """The bytes end in the middle of a frame."""

"""`record_to=`: a stream's raw body bytes, written to the caller's file as they arrive,
so that `streamchat.replay` can play the answer back through the same decoder later.

Kept out of the worker so that the worker's job stays the attempts and the queue.
"""

from __future__ import annotations

from typing import IO, Optional


class Recorder:
    """The recording of one stream (a no-op without a file)."""

    def __init__(self, file: Optional[IO[bytes]], own: bool = False) -> None:
        self._file = file
        self._own = own
        """Whether the file was opened for the stream, and is closed with it."""

    def write(self, data: bytes) -> None:
        if self._file is not None:
            self._file.write(data)

    def restart(self) -> None:
        """A retried attempt replaces the failed one's bytes: a recording is one body."""
        if self._file is not None and self._file.seekable():
            self._file.seek(0)
            self._file.truncate()

    def end(self) -> None:
        """Flush (and close, if it was opened for the stream) before the consumer hears of
        the end, so a caller who reads the file right after the stream finds it whole."""
        file, self._file = self._file, None
        if file is not None:
            file.flush()
            if self._own:
                file.close()

"""One streamed answer, printed to its end, and the exit status it gives the command."""

from __future__ import annotations

from typing import Optional, Tuple

from ..errors import ConfigurationError, StreamChatError
from ..stream import Stream
from ..types import ChatResponse
from .printer import Printer

EXIT_OK = 0
EXIT_PROVIDER_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def consume(stream: Stream, printer: Printer) -> Tuple[int, Optional[ChatResponse]]:
    """Print a stream to its end; (exit status, response or None on failure)."""
    try:
        for event in stream:
            printer.event(event)
    except KeyboardInterrupt:
        # Ctrl-C lands in this thread; the worker needs telling, and close() folds
        # what was shown into a cancelled response.
        stream.interrupt()
        stream.close()
        printer.end()
        printer.note("interrupted")
        return EXIT_INTERRUPTED, stream.response
    except ConfigurationError as exc:
        printer.end()
        printer.error(exc)
        return EXIT_USAGE, None
    except StreamChatError as exc:
        printer.end()
        printer.error(exc)
        return EXIT_PROVIDER_ERROR, None
    finally:
        stream.close()
    printer.end()
    return EXIT_OK, stream.response

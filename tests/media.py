"""Small real files of each kind the parts tests and the documentation examples send."""

from __future__ import annotations

import base64
from pathlib import Path

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)
"""A 1x1 red PNG."""
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00" \
      b"\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00"
"""A WAV header with no samples."""

B64_PNG = base64.b64encode(PNG).decode()
B64_PDF = base64.b64encode(PDF).decode()
B64_WAV = base64.b64encode(WAV).decode()

SAMPLES = {"cat.png": PNG, "report.pdf": PDF, "question.wav": WAV}
"""The files the documentation's examples open, by name."""


def write_samples(directory: Path) -> None:
    for name, data in SAMPLES.items():
        (directory / name).write_bytes(data)

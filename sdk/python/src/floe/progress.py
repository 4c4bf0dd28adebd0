"""Progress display of training data retrieval (``progress=True``).

With tqdm installed (``pip install 'floe-features[progress]'``), a progress bar —
a widget in Jupyter, through ``tqdm.auto`` — per phase: the wait for a retrieval
slot, each view read, the rows sent. Without it, one status line on stderr
(``print_progress``).

``RetrievalProgress`` (what a callback receives) and the callbacks live here;
``floe.training`` hands them the server's reports (and re-exports them).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import Any

__all__ = [
    "ProgressCallback",
    "RetrievalProgress",
    "TqdmProgress",
    "default_progress",
    "print_progress",
    "progress_callback",
]


@dataclasses.dataclass(frozen=True)
class RetrievalProgress:
    """What the server is doing while it builds training data.

    The server joins every row before it sends the first, so a large request
    spends a while reading; these reports come meanwhile (a few per second at
    most) and as the rows are sent.

    Attributes:
        phase: ``"queued"`` (waiting for another retrieval to finish: the
            server runs ``training.max_concurrent`` at once), ``"reading"``
            (a view's rows from Iceberg) or ``"writing"`` (sending rows).
        view: The view being read (phase ``"reading"``).
        rows: Rows of ``view`` read so far, or rows sent so far.
        total_rows: Rows to send in all (phase ``"writing"``).
    """

    phase: str
    view: str = ""
    rows: int = 0
    total_rows: int = 0

    def __str__(self) -> str:
        if self.phase == "queued":
            return "waiting for another retrieval to finish"
        if self.phase == "reading":
            return f"reading {self.view}: {self.rows:,} rows"
        if self.phase == "writing":
            return f"sending rows: {self.rows:,} of {self.total_rows:,}"
        return self.phase


def print_progress(p: RetrievalProgress) -> None:
    """A progress callback keeping one status line on stderr (``progress=True``)."""
    end = "\n" if p.phase == "writing" and p.rows >= p.total_rows else ""
    sys.stderr.write(f"\r\x1b[2Kfloe: {p}{end}")
    sys.stderr.flush()


ProgressCallback = Callable[[RetrievalProgress], None]


def progress_callback(progress: ProgressCallback | bool | None) -> ProgressCallback | None:
    """Resolves a ``progress`` argument: a callable, True for a tqdm bar (or,
    without tqdm, print_progress), or None/False for none."""
    if progress is True:
        # A tqdm bar when tqdm is installed, else print_progress's status line.
        return default_progress()
    if progress is None or progress is False:
        return None
    if not callable(progress):
        raise TypeError(f"progress must be a callable or a bool, not {type(progress).__name__}")
    return progress


class TqdmProgress:
    """A progress callback drawing a tqdm bar per phase of a retrieval.

    One instance follows one call: "waiting", then "reading <view>" (rows read,
    no known total) for each view, then "sending rows" up to the total. Call
    close() (the client does, when the stream ends) to finish the last bar.
    """

    def __init__(self, tqdm: Any) -> None:
        """tqdm is the bar class (tqdm.auto.tqdm, or a compatible one in tests)."""
        self._tqdm = tqdm
        self._bar: Any = None
        self._key: tuple[str, str] | None = None

    def __call__(self, p: RetrievalProgress) -> None:
        key = (p.phase, p.view)
        if key != self._key:
            self.close()
            self._key = key
            if p.phase == "queued":
                desc, unit = "floe: waiting for another retrieval", "it"
            elif p.phase == "reading":
                desc, unit = f"floe: reading {p.view}", " rows"
            else:
                desc, unit = "floe: sending rows", " rows"
            total = p.total_rows if p.phase == "writing" and p.total_rows else None
            self._bar = self._tqdm(
                total=total, desc=desc, unit=unit, unit_scale=True, leave=p.phase == "writing"
            )
        if p.phase != "queued" and self._bar is not None:
            self._bar.update(max(0, p.rows - self._bar.n))
        if p.phase == "writing" and p.total_rows and p.rows >= p.total_rows:
            self.close()

    def close(self) -> None:
        """Finishes the current bar, if any."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def default_progress() -> Any:
    """Returns what ``progress=True`` uses: a TqdmProgress when tqdm is importable,
    else print_progress."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return print_progress
    return TqdmProgress(tqdm)

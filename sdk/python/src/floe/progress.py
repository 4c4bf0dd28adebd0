"""Progress display of training data retrieval (``progress=True``).

With tqdm installed (``pip install 'floe-features[progress]'``), a progress bar —
a widget in Jupyter, through ``tqdm.auto`` — per phase: the wait for a retrieval
slot, each view read, the rows sent. Without it, one status line on stderr
(``floe.training.print_progress``).
"""

from __future__ import annotations

from typing import Any

from floe.training import RetrievalProgress, print_progress

__all__ = ["TqdmProgress", "default_progress"]


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

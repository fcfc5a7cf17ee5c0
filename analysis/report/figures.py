"""Figures as images: a plotly figure (a chart of ``analysis.charts``) to PNG bytes, for the PDF report.

Figures are exported by kaleido through one kept-alive Chromium (``kaleido.start_sync_server``), started once
per process; :func:`start_figure_server` returns at once and Chromium starts in the background, so a caller
starts it before the work that precedes the first figure. Without a Chromium, :func:`figure_png` raises
RuntimeError with the reason (the report then prints a line in place of the figure).
"""

from __future__ import annotations

import os
import threading

#: figure export: layout width in px (a figure's own height is kept) and pixel density
FIGURE_WIDTH_PX = 1000
FIGURE_SCALE = 2
#: seconds to wait for one figure (a cold Chromium on a busy machine takes several)
FIGURE_TIMEOUT = 60

_KALEIDO_LOCK = threading.Lock()
#: why figures cannot be drawn in this process (set after a failure, so that a broken Chromium costs one
#: timeout, not one per figure)
_FIGURES_BROKEN: list[str] = []


def figure_server_available() -> bool:
    """True when kaleido can find a Chromium (Debian's ``chromium``, or ``BROWSER_PATH``)."""
    try:
        from choreographer.browsers.chromium import Chromium

        path = Chromium.find_browser(skip_local=False)
    except Exception:  # noqa: BLE001 - any failure to look means: no figures
        return False
    return bool(path) and os.path.isfile(path) and os.access(path, os.X_OK)


def start_figure_server() -> bool:
    """Start kaleido's kept-alive Chromium (once per process; it returns at once and Chromium starts in the
    background). False when no Chromium is available."""
    if not figure_server_available():
        return False
    import kaleido

    with _KALEIDO_LOCK:
        kaleido.start_sync_server(mathjax=False, silence_warnings=True)
    return True


def stop_figure_server() -> None:
    """Stop the kept-alive Chromium (it also stops when the process exits)."""
    import kaleido

    with _KALEIDO_LOCK:
        kaleido.stop_sync_server(silence_warnings=True)


def figure_png(figure, width: int = FIGURE_WIDTH_PX, height: int | None = None, scale: float = FIGURE_SCALE) -> bytes:
    """A plotly figure as PNG bytes (kept-alive server). RuntimeError when it cannot be drawn in
    ``FIGURE_TIMEOUT`` seconds or no Chromium is available."""
    if _FIGURES_BROKEN:
        raise RuntimeError(_FIGURES_BROKEN[0])
    if not start_figure_server():
        raise RuntimeError("no Chromium found to draw figures (install Debian's chromium, or set BROWSER_PATH)")
    import kaleido

    height = int(height or figure.layout.height or 500)
    spec = figure.to_dict()
    box: dict = {}

    def work():
        try:
            box["png"] = kaleido.calc_fig_sync(
                spec, opts={"format": "png", "width": int(width), "height": height, "scale": scale}
            )
        except Exception as e:  # noqa: BLE001 - reported to the caller below
            box["error"] = e

    with _KALEIDO_LOCK:  # the server answers one caller at a time
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(FIGURE_TIMEOUT)
    if "png" in box:
        return box["png"]
    if "error" not in box:  # no answer: the server is stuck or dead; do not wait for it again
        _FIGURES_BROKEN.append(f"Chromium gave no figure in {FIGURE_TIMEOUT} s")
    raise RuntimeError(f"the figure could not be drawn: {box.get('error', f'no answer in {FIGURE_TIMEOUT} s')}")

"""The status of a background run on the page (the what-if and its robustness check):
a progress bar with the runs finished, the task's error, and the last message."""

from __future__ import annotations

from typing import Any

import solara

from quartiersim.app.i18n import UI


@solara.component
def RunStatus(running: bool, progress: tuple[int, int], task: Any,
              message: tuple[str, str] | None, ui: UI, css_prefix: str) -> None:
    """``progress``: (runs done, runs in all); ``task``: the solara task running it;
    ``message``: (kind, text) with kind ``error``, ``info`` or ``success``, drawn with the
    CSS class ``{css_prefix}-{kind}`` (what the tests and the stylesheet find)."""
    if running:
        done, total = progress
        solara.ProgressLinear(value=100.0 * done / total if total else True)
        solara.Text(ui.t("whatif.progress", done=done, total=total), classes=["qs-progress"])
    if task.error:
        solara.Error(ui.t("whatif.failed", message=str(task.exception)))
    if message is not None:
        kind, text = message
        {"error": solara.Error, "info": solara.Info, "success": solara.Success}[kind](
            text, classes=[f"{css_prefix}-{kind}"])

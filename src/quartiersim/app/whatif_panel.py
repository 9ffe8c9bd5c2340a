"""The what-if panel: the levers of the model on screen against the scenario's baseline,
run over N seeds in the background (a process pool at lowered priority), with progress,
the change of each headline outcome with its 95 % interval, and save / load of the session.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import solara
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from quartiersim.errors import QuartiersimError
from quartiersim.sim.registry import Kind
from quartiersim.studies.format import format_interval, format_value
from quartiersim.studies.whatif import WhatIfCancelled, WhatIfSession, app_pool, headline

if TYPE_CHECKING:
    from quartiersim.app.model import AppModel

DEFAULT_SESSION_FILE = "whatif-session.toml"


def variant_text(session: WhatIfSession, baseline_model: str, baseline_financing: str) -> str:
    """One Markdown paragraph naming what the variant changes."""
    parts = []
    if (session.model or baseline_model) != baseline_model:
        parts.append(f"cooperation model **{baseline_model} → {session.model}**")
    if (session.financing or baseline_financing) != baseline_financing:
        parts.append(f"financing model **{baseline_financing} → {session.financing}**")
    parts += [f"`{k}` = **{v:,}**" if isinstance(v, int | float) else f"`{k}` = **{v}**"
              for k, v in session.levers.items()]
    return ", ".join(parts) if parts else "nothing (the variant equals the baseline)"


def results_markdown(table) -> str:
    """The headline rows as a Markdown table: baseline, variant, change [95 % interval]."""
    lines = ["| outcome | baseline | variant | change [95 % interval] |", "|---|---:|---:|---:|"]
    for r in headline(table):
        k = r["kind"]
        change = format_interval(r["change"], r["change_low"], r["change_high"], k, signed=True)
        mid, interval = change.split(" ", 1)
        lines.append(f"| {r['label']} | {format_value(r['baseline'], k)} | "
                     f"{format_value(r['variant'], k)} | **{mid}** {interval} |")
    return "\n".join(lines)


def draw_changes(table) -> Figure:
    """Side-by-side interval plots of the headline changes: shares, counts, EUR."""
    rows = headline(table)
    groups = [(Kind.SHARE, "Coverage change (share)"), (Kind.COUNT, "Change of mandatory cases"),
              (Kind.EUR, "Cost change (EUR over the run)")]
    groups = [(k, t) for k, t in groups if any(r["kind"] == k for r in rows)]
    fig = Figure(figsize=(4.2 * len(groups), 3.4), dpi=80)
    axes = np.atleast_1d(fig.subplots(1, len(groups)))
    for ax, (kind, title) in zip(axes, groups):
        sel = [r for r in rows if r["kind"] == kind]
        y = np.arange(len(sel))[::-1]
        mid = np.array([r["change"] for r in sel], dtype=float)
        lo = np.array([r["change_low"] for r in sel], dtype=float)
        hi = np.array([r["change_high"] for r in sel], dtype=float)
        ax.errorbar(mid, y, xerr=[np.nan_to_num(mid - lo), np.nan_to_num(hi - mid)], fmt="o",
                    color="#1f4e9c", ecolor="#7f9fcf", capsize=3)
        ax.axvline(0.0, color="#999999", lw=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        if kind == "eur":  # thousands, so the tick labels do not run into each other
            ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1000:,.0f}k"))
        ax.set_yticks(y)
        ax.set_yticklabels([r["label"].replace(" (EUR)", "") for r in sel], fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    return fig


def _start_workers() -> None:
    """The what-if workers start with the page (the app's one warm pool), not with the
    first run."""
    app_pool()


@solara.component
def WhatIfPanel(model: AppModel) -> None:
    """Run, show, save and load a what-if session for the model on screen."""
    seeds = solara.use_reactive(10)
    years = solara.use_reactive(model.years)
    progress = solara.use_reactive((0, 0))
    session = solara.use_reactive(None)
    message = solara.use_reactive(None)  # (kind, text)
    session_file = solara.use_reactive(DEFAULT_SESSION_FILE)
    cancel = solara.use_memo(threading.Event, [])
    solara.use_effect(_start_workers, [])

    pending = WhatIfSession(scenario=model.scenario_file, levers=dict(model.overrides),
                            model=model.cooperation_name, financing=model.financing_name,
                            seeds=seeds.value, years=years.value)
    baseline_model = model.baseline.default_cooperation
    baseline_financing = model.baseline.default_financing

    def work() -> None:
        # This runs in solara's task thread. On Linux niceness is per thread and inherited
        # by child processes (the forkserver, if this thread starts it, and so its workers):
        # the what-if runs at low priority, the server's request threads keep their share
        # of the CPU. whatif(nice=True) also lowers each worker's priority itself.
        try:
            os.nice(10)
        except OSError:
            pass
        cancel.clear()
        s = WhatIfSession(**{**pending.__dict__, "results": None})
        progress.set((0, 2 * s.seeds))
        try:
            s.run(on_progress=lambda done, total: progress.set((done, total)), cancel=cancel,
                  nice=True, pool=app_pool())
        except WhatIfCancelled as exc:
            message.set(("info", f"What-if {exc}."))
            return
        except QuartiersimError as exc:
            message.set(("error", str(exc)))
            return
        session.set(s)
        message.set(("success", f"What-if finished: {2 * s.seeds} runs."))

    task = solara.lab.use_task(work, dependencies=None, raise_error=False)
    running = bool(task.pending)

    def save() -> None:
        if session.value is None:
            message.set(("error", "Nothing to save yet: run a what-if or load a session first."))
            return
        try:
            p = session.value.save(session_file.value)
        except OSError as exc:
            message.set(("error", f"{session_file.value}: cannot write: {exc.strerror}"))
            return
        message.set(("success", f"Session saved to {p.resolve()}"))

    def load() -> None:
        try:
            s = WhatIfSession.load(session_file.value)
        except QuartiersimError as exc:
            message.set(("error", str(exc)))
            return
        session.set(s)
        message.set(("success", f"Session loaded from {Path(session_file.value).resolve()}"))

    with solara.Card("What-if: the levers on screen against the scenario's baseline",
                     classes=["whatif-panel"]):
        solara.Markdown(
            f"**Baseline**: `{Path(model.scenario_file).name}` as written "
            f"({baseline_model} / {baseline_financing}). **Variant** changes: "
            f"{variant_text(pending, baseline_model, baseline_financing)}. "
            "Change levers in the sidebar and press *Reset* to set the variant; each seed runs "
            "baseline and variant with the same random numbers (paired).")
        with solara.Row():
            solara.SliderInt("Seeds", value=seeds, min=2, max=50, disabled=running)
            solara.SliderInt("Years", value=years, min=1, max=30, disabled=running)
        with solara.Row():
            solara.Button("Run what-if", color="primary", on_click=task, disabled=running or
                          model.error is not None)
            solara.Button("Cancel", on_click=cancel.set, disabled=not running)
        if model.error is not None:
            solara.Warning("The model on screen fell back to the baseline (see the message above); "
                           "fix the lever first.")
        if running:
            done, total = progress.value
            solara.ProgressLinear(value=100.0 * done / total if total else True)
            solara.Text(f"{done} of {total} runs finished")
        if task.error:
            solara.Error(f"What-if failed: {task.exception}")
        if message.value is not None:
            kind, text = message.value
            {"error": solara.Error, "info": solara.Info, "success": solara.Success}[kind](text)
        with solara.Row():
            solara.InputText("Session file (TOML)", value=session_file, continuous_update=True)
            solara.Button("Save session", on_click=save, disabled=running)
            solara.Button("Load session", on_click=load, disabled=running)
        s: Any = session.value
        if s is not None and s.results is not None:
            solara.Markdown(
                f"**Result**: `{Path(s.scenario).name}`, variant: "
                f"{variant_text(s, baseline_model, baseline_financing)}; {s.seeds} seeds x "
                f"{s.years} years; change = variant - baseline, mean over seeds [95 % interval].")
            solara.FigureMatplotlib(draw_changes(s.results), format="png")
            solara.Markdown(results_markdown(s.results))

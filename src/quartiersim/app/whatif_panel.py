"""The what-if panel: the model on screen (the variant) against the scenario as written
(the baseline), run over N seeds in the background (a process pool at lowered priority)
with progress and Cancel; the result as planner rows (:mod:`quartiersim.app.results`),
interval charts by kind and baseline vs variant over time; the session saved and loaded
and the exports handed over as browser downloads and uploads (never a server path).
"""

from __future__ import annotations

import html
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import solara

from quartiersim.app import export
from quartiersim.app.charts import CHARTS, changes_spec, whatif_series_spec
from quartiersim.app.controls import NumberControl
from quartiersim.app.i18n import UI
from quartiersim.app.params import LeverControl
from quartiersim.app.results import PlannerRow, planner_rows
from quartiersim.app.robustness import RobustnessCheck
from quartiersim.app.status import RunStatus
from quartiersim.app.state import Inputs, resolve_session_scenario
from quartiersim.app.upload import FileUpload
from quartiersim.app.vega import Chart
from quartiersim.config.schema import Scenario
from quartiersim.errors import QuartiersimError
from quartiersim.sim.registry import Kind
from quartiersim.studies.whatif import (WhatIfCancelled, WhatIfSession, app_pool,
                                       lever_overrides)

if TYPE_CHECKING:
    from quartiersim.app.model import AppModel

#: Largest session file the upload reads, in bytes.
MAX_SESSION_BYTES = 2_000_000
#: Seeds and years of the what-if: (default, min, max).
SEEDS = (10, 2, 50)
WHATIF_YEARS = (1, 30)


def variant_text(levers: dict[str, Any], model: str | None, financing: str | None,
                 baseline_model: str, baseline_financing: str, controls: dict[str, LeverControl],
                 ui: UI) -> str:
    """What the variant changes, in words; empty when nothing."""
    parts = []
    if (model or baseline_model) != baseline_model:
        parts.append(f"{ui.t('cooperation')}: {ui.cooperation(baseline_model)} → "
                     f"{ui.cooperation(model or baseline_model)}")
    if (financing or baseline_financing) != baseline_financing:
        parts.append(f"{ui.t('financing')}: {ui.financing(baseline_financing)} → "
                     f"{ui.financing(financing or baseline_financing)}")
    for label, before, after in export.changed_levers(levers, controls, ui):
        parts.append(f"{label}: {before} → {after}" if before else f"{label} = {after}")
    return "; ".join(parts)


def rows_html(rows: list[PlannerRow], ui: UI) -> str:
    """The planner rows as an HTML table (texts escaped)."""
    e = html.escape
    head = "".join(f"<th class='{c}'>{e(ui.t(k))}</th>" for k, c in (
        ("col.outcome", ""), ("col.baseline", "num"), ("col.variant", "num"),
        ("col.change", "num"), ("col.interval", "num"), ("col.assessment", "")))
    body = "".join(
        f"<tr class='qs-row verdict-{r.verdict or 'none'}{' indent' if r.indent else ''}' "
        f"data-outcome='{e(r.outcome.name)}'>"
        f"<td class='label'>{e(r.label)}</td><td class='num'>{e(r.baseline)}</td>"
        f"<td class='num'>{e(r.variant)}</td><td class='num change'>{e(r.change)}</td>"
        f"<td class='num'>{e(r.interval)}</td><td class='assessment'>{e(r.assessment)}</td></tr>"
        for r in rows)
    return f"<table class='qs-results'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _start_workers() -> None:
    """The what-if workers start with the page (the app's one warm pool), not with the
    first run."""
    app_pool()


@solara.component
def WhatIfPanel(baseline: Scenario, inputs: Inputs, model: AppModel | None,
                controls: dict[str, LeverControl], ui: UI, pending: bool, scenario_dir: Path,
                choices: dict[str, Path], on_session: Callable[[WhatIfSession], None],
                restored: WhatIfSession | None = None) -> None:
    """Run, show, export, save and load a what-if of the model on screen (``model``; None
    while it is being built: the panel stays, with Run disabled, so its settings and
    result survive a Reset)."""
    seeds = solara.use_reactive(restored.seeds if restored else SEEDS[0])
    years = solara.use_reactive(restored.years if restored else inputs.years)
    progress = solara.use_reactive((0, 0))
    session = solara.use_reactive(restored if restored and restored.results is not None else None)
    message = solara.use_reactive(None)  # (kind, text)
    every = solara.use_reactive(False)
    cancel = solara.use_memo(threading.Event, [])
    solara.use_effect(_start_workers, [])

    def take_session() -> None:  # a session loaded while this page is on screen
        if restored is not None:
            seeds.set(restored.seeds)
            years.set(restored.years)
            session.set(restored if restored.results is not None else None)
            message.set(("success", ui.t("session.loaded", name=Path(restored.scenario).name)))

    solara.use_effect(take_session, [id(restored)])

    base_model, base_fin = baseline.default_cooperation, baseline.default_financing
    if model is not None:  # what is on screen (the baseline's models after a fallback)
        levers, coop, fin = dict(model.overrides), model.cooperation_name, model.financing_name
    else:
        levers = lever_overrides(baseline, inputs.changed(controls))
        coop, fin = inputs.cooperation, inputs.financing
    variant = WhatIfSession(scenario=inputs.scenario, levers=levers, model=coop, financing=fin,
                            seeds=seeds.value, years=years.value)
    error = model.error if model is not None else None
    changes = variant_text(variant.levers, variant.model, variant.financing, base_model, base_fin,
                           controls, ui)
    same = not changes

    def work() -> None:
        # solara's task thread; niceness is per thread on Linux and inherited by the pool's
        # forkserver and workers: the what-if runs at low priority, the page stays quick
        try:
            os.nice(10)
        except OSError:
            pass
        cancel.clear()
        s = WhatIfSession(**{**variant.__dict__, "results": None, "series": None})
        session.set(None)  # never an old result beside a new run
        message.set(None)
        progress.set((0, 2 * s.seeds))
        try:
            s.run(series=True, on_progress=lambda done, total: progress.set((done, total)),
                  cancel=cancel, nice=True, pool=app_pool())
        except WhatIfCancelled as exc:
            message.set(("info", ui.t("whatif.cancelled", detail=str(exc).rstrip("."))))
            return
        except QuartiersimError as exc:
            message.set(("error", ui.t("whatif.failed", message=str(exc))))
            return
        session.set(s)
        message.set(("success", ui.t("whatif.finished", runs=2 * s.seeds)))

    task = solara.lab.use_task(work, dependencies=None, raise_error=False)
    running = bool(task.pending)

    def start() -> None:
        session.set(None)  # the old result goes at once, not when the new run starts
        message.set(None)
        task()

    def load(name: str, data: bytes | None, size: int) -> None:
        if data is None:
            message.set(("error", ui.t("session.too_big", name=name, size=size, limit=MAX_SESSION_BYTES)))
            return
        listing = ", ".join(choices) or ui.t("scenario.none")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            message.set(("error", f"{name}: not UTF-8 text"))
            return
        try:
            s = WhatIfSession.from_toml(text, name=name, resolve=lambda ref: resolve_session_scenario(
                ref, scenario_dir, choices,
                lambda r: ui.t("session.unknown_scenario", name=name, ref=r, listing=listing)))
        except QuartiersimError as exc:
            message.set(("error", str(exc)))
            return
        on_session(s)

    with solara.Card(ui.t("whatif"), classes=["qs-card", "whatif-panel"], margin=0):
        intro = ui.t("whatif.intro", scenario=Path(inputs.scenario).name,
                     cooperation=ui.cooperation(base_model), financing=ui.financing(base_fin),
                     variant=changes or ui.t("whatif.same"))
        solara.Text(intro, classes=["qs-whatif-intro"])
        with solara.Row(gap="16px", style={"flex-wrap": "wrap", "align-items": "flex-end"}):
            with solara.Div(style={"min-width": "240px", "flex": "1"}):
                NumberControl(label=ui.t("whatif.seeds"), value=float(seeds.value),
                              on_value=lambda x: seeds.set(int(round(x))), low=SEEDS[1],
                              high=SEEDS[2], step=1, digits=0, unit="", shown=str(seeds.value),
                              range_text=ui.t("range", low=str(SEEDS[1]), high=str(SEEDS[2])),
                              bounds=(SEEDS[1], SEEDS[2]), ui=ui, ident="whatif-seeds",
                              disabled=running)
            with solara.Div(style={"min-width": "240px", "flex": "1"}):
                NumberControl(label=ui.t("whatif.years"), value=float(years.value),
                              on_value=lambda x: years.set(int(round(x))), low=WHATIF_YEARS[0],
                              high=WHATIF_YEARS[1], step=1, digits=0, unit=ui.t("unit.years"),
                              shown=f"{years.value} ({ui.span(baseline.meta.start_year, years.value)})",
                              range_text=ui.t("range", low=str(WHATIF_YEARS[0]),
                                              high=str(WHATIF_YEARS[1])),
                              bounds=WHATIF_YEARS, ui=ui, ident="whatif-years", disabled=running)
            blocked = running or same or pending or error is not None or model is None
            solara.Button(ui.t("whatif.run"), color="primary", on_click=start, disabled=blocked,
                          classes=["qs-run"])
            solara.Button(ui.t("whatif.cancel"), on_click=cancel.set, disabled=not running,
                          classes=["qs-cancel"])
        with solara.Div(classes=["qs-whatif-status"]):  # a stable slot: nothing below remounts
            if error is not None:
                solara.Warning(ui.t("whatif.fallback"))
            elif pending:
                solara.Warning(ui.t("whatif.need_apply"))
            elif same:
                solara.Info(ui.t("whatif.need_variant"))
            RunStatus(running, progress.value, task, message.value, ui, "qs-message")
        s: WhatIfSession | None = session.value
        with solara.Div(classes=["qs-whatif-result"]):
            if s is not None and s.results is not None:
                WhatIfResult(s, controls, ui, every, base_model, base_fin, baseline.meta.start_year)
        RobustnessCheck(baseline, variant, ui,
                        blocked=running or same or pending or error is not None or model is None)
        ExportRow(s, baseline, inputs.scenario, model, controls, ui, scenario_dir, running, load)


@solara.component
def WhatIfResult(s: WhatIfSession, controls: dict[str, LeverControl], ui: UI,
                 every: solara.Reactive[bool], base_model: str, base_fin: str, start: int) -> None:
    """The result of a what-if: its description, the rows, the interval charts and
    baseline vs variant over time (``start``: the scenario's first calendar year)."""
    rows, left_out = planner_rows(s.results, ui, start, s.years, every_outcome=every.value)
    text = variant_text(s.levers, s.model, s.financing, base_model, base_fin, controls, ui)
    solara.Text(ui.t("whatif.result", scenario=Path(s.scenario).name, variant=text or "–",
                     seeds=s.seeds, years=ui.years(s.years), span=ui.span(start, s.years)),
                classes=["qs-result-intro"])
    solara.Switch(label=ui.t("whatif.all"), value=every)
    solara.HTML(tag="div", unsafe_innerHTML=rows_html(rows, ui), classes=["qs-results-wrap"])
    if left_out:
        solara.Text(ui.t("whatif.left_out", what=", ".join(left_out)), classes=["qs-left-out"])
    specs = solara.use_memo(lambda: [changes_spec(rows, k, ui) for k in (Kind.SHARE, Kind.COUNT, Kind.EUR)],
                            [id(s), ui.lang, every.value])
    solara.Text(ui.t("whatif.changes"), classes=["qs-subtitle"])
    with solara.Div(classes=["qs-grid"]):
        for spec in specs:
            if spec is not None:
                with solara.Card(classes=["qs-card", "qs-change-chart"], margin=0):
                    Chart(spec)
    over_time = solara.use_memo(
        lambda: [whatif_series_spec(c, s.series, ui) if s.series is not None else None
                 for c in CHARTS], [id(s), ui.lang])
    if any(spec is not None for spec in over_time):
        solara.Text(ui.t("whatif.over_time"), classes=["qs-subtitle"])
        with solara.Div(classes=["qs-grid"]):
            for chart, spec in zip(CHARTS, over_time):
                if spec is not None:
                    with solara.Card(classes=["qs-card", "whatif-series", f"whatif-{chart.key}"],
                                     margin=0):
                        Chart(spec)


@solara.component
def ExportRow(s: WhatIfSession | None, baseline: Scenario, scenario_file: str,
              model: AppModel | None, controls: dict[str, LeverControl], ui: UI,
              scenario_dir: Path, running: bool,
              load: Callable[[str, bytes | None, int], None]) -> None:
    """Session download and upload; what-if and series as CSV, Excel and a summary."""
    has = s is not None and s.results is not None
    stem = Path(scenario_file).stem
    start = baseline.meta.start_year
    base_model, base_fin = baseline.default_cooperation, baseline.default_financing

    def context() -> export.Context:
        assert s is not None
        return export.Context(
            scenario_name=baseline.meta.name, scenario_file=Path(s.scenario).name,
            baseline=f"{ui.cooperation(base_model)} / {ui.financing(base_fin)}",
            variant=f"{ui.cooperation(s.model or base_model)} / {ui.financing(s.financing or base_fin)}",
            levers=export.changed_levers(s.levers, controls, ui), seeds=s.seeds, years=s.years,
            start_year=start)

    def session_bytes() -> bytes:
        assert s is not None
        return s.to_toml(scenario_dir).encode("utf-8")

    def whatif_csv() -> bytes:
        assert s is not None and s.results is not None
        return export.to_csv(export.whatif_frame(s.results, ui, start, s.years), ui)

    def model_series() -> pd.DataFrame:
        if model is None:
            return pd.DataFrame()
        with model.lock:
            return model.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def series_csv() -> bytes:
        return export.to_csv(model_series(), ui)

    def excel() -> bytes:
        sheets = {ui.t("sheet.series"): model_series()}
        if s is not None and s.results is not None:
            sheets = {ui.t("sheet.whatif"): export.whatif_frame(s.results, ui, start, s.years),
                      ui.t("sheet.levers"): export.levers_frame(context(), ui), **sheets}
            if s.series is not None:
                sheets[ui.t("sheet.whatif_series")] = s.series.reset_index()
        return export.to_excel(sheets)

    def summary() -> bytes:
        assert s is not None and s.results is not None
        return export.summary_html(context(), s.results, s.series, ui).encode("utf-8")

    with solara.Card(ui.t("session"), classes=["qs-card", "qs-exports"], margin=0):
        with solara.Row(gap="8px", style={"flex-wrap": "wrap"}):
            downloads = [
                (has, session_bytes, f"{stem}-session.toml", "session.download", "application/toml"),
                (has, whatif_csv, f"{stem}-whatif.csv", "export.whatif_csv", "text/csv"),
                (model is not None, series_csv, f"{stem}-series.csv", "export.series_csv", "text/csv"),
                (model is not None or has, excel, f"{stem}-quartiersim.xlsx", "export.excel",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (has, summary, f"{stem}-summary.html", "export.summary", "text/html")]
            for ready, data, filename, label, mime in downloads:
                if ready:
                    solara.FileDownload(data, filename=filename, label=ui.t(label), mime_type=mime)
                else:  # same place, disabled: the row keeps its structure
                    solara.Button(ui.t(label), disabled=True, icon_name="mdi-cloud-download-outline")
        solara.Text(ui.t("export.note") if has else ui.t("session.nothing"), classes=["qs-note"])
        FileUpload(ui.t("session.upload"), load, accept=".toml", max_bytes=MAX_SESSION_BYTES,
                   disabled=running)

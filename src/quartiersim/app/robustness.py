"""The what-if's robustness check: the same variant against the baseline in parameter
sets drawn from the scenario's calibrated posterior (else its declared ranges), every draw
with the same seeds for both (common random numbers), as in ``compare --uncertainty``
(:func:`quartiersim.studies.uncertainty.whatif_uncertain`).

A what-if over seeds answers "is the change larger than the noise of one world?"; this
check answers "in how many plausible worlds is the variant better, and how much does it
lose where it is not?" (P(better) and regret, issue 11).
"""

from __future__ import annotations

import html
import os
import threading

import pandas as pd
import solara

from quartiersim.app.controls import NumberControl
from quartiersim.app.i18n import UI
from quartiersim.app.status import RunStatus
from quartiersim.config.schema import Scenario
from quartiersim.errors import QuartiersimError
from quartiersim.sim.outcomes import REGISTRY
from quartiersim.sim.registry import Kind
from quartiersim.studies.pool import Cancelled
from quartiersim.studies.whatif import WhatIfCancelled, WhatIfSession

#: Parameter sets of the check: (default, min, max).
DRAWS = (20, 5, 200)


def source_of(scenario: Scenario) -> str | None:
    """Where the draws come from: ``"posterior"`` (a calibrated posterior is declared),
    ``"ranges"`` (only ranges) or None (the scenario declares no uncertainty)."""
    if scenario.uncertainty.posterior is not None:
        return "posterior"
    return "ranges" if scenario.uncertainty.ranges else None


def robust_rows(table: pd.DataFrame, ui: UI) -> list[tuple[str, str, str, str, str]]:
    """The rows of a :func:`~quartiersim.studies.uncertainty.pairwise` table as text: outcome
    label, P(variant better), mean change, 5-95 % of the change across draws, and the
    variant's regret (mean / 90th percentile), in the registry's order and units."""
    by_name = {o.name: o for o in REGISTRY.entries}

    def size(x: float, kind: Kind) -> str:  # a regret: unsigned, shares in points
        if kind == Kind.SHARE:
            return f"{ui.number(100 * x, 1)}\u00a0{ui.t('change.pp')}"
        return ui.value(x, kind)

    rows = []
    for r in table.to_dict(orient="records"):
        o = by_name.get(r["outcome"])
        if o is None:
            continue
        rows.append((ui.outcome(o), ui.percent(r["p_variant_better"], digits=0),
                     ui.change(r["difference_mean"], o.kind),
                     f"{ui.change(r['difference_low'], o.kind)} … "
                     f"{ui.change(r['difference_high'], o.kind)}",
                     f"{size(r['regret_variant_mean'], o.kind)} / "
                     f"{size(r['regret_variant_p90'], o.kind)}"))
    return rows


def robust_html(table: pd.DataFrame, ui: UI) -> str:
    """:func:`robust_rows` as an HTML table (texts escaped)."""
    e = html.escape
    head = "".join(f"<th class='{c}'>{e(ui.t(k))}</th>" for k, c in (
        ("col.outcome", ""), ("robust.p_better", "num"), ("col.change", "num"),
        ("robust.range", "num"), ("robust.regret", "num")))
    body = "".join("<tr>" + "".join(f"<td{'' if i == 0 else ' class=num'}>{e(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>"
                   for row in robust_rows(table, ui))
    return f"<table class='qs-results qs-robust-table'><thead><tr>{head}</tr></thead>" \
           f"<tbody>{body}</tbody></table>"


@solara.component
def RobustnessCheck(baseline: Scenario, variant: WhatIfSession, ui: UI, blocked: bool) -> None:
    """Draws, Run and Cancel of the check, its progress and its table. ``blocked``: no
    variant to check (nothing changed, levers not applied, or a what-if is running)."""
    draws = solara.use_reactive(DRAWS[0])
    progress = solara.use_reactive((0, 0))
    result = solara.use_reactive(None)  # (source, draws, table)
    message = solara.use_reactive(None)  # (kind, text)
    cancel = solara.use_memo(threading.Event, [])
    source = source_of(baseline)

    def work() -> None:
        from quartiersim.studies.uncertainty import whatif_uncertain

        try:
            os.nice(10)
        except OSError:
            pass
        cancel.clear()
        result.set(None)
        message.set(None)
        n = draws.value
        progress.set((0, 2 * n))
        try:
            table = whatif_uncertain(baseline, variant.levers, source=source or "ranges",
                                     draws=n, seeds=1, years=variant.years, model=variant.model,
                                     financing=variant.financing, nice=True, cancel=cancel,
                                     on_progress=lambda d, t: progress.set((d, t)))
        except (Cancelled, WhatIfCancelled) as exc:
            message.set(("info", ui.t("whatif.cancelled", detail=str(exc).rstrip("."))))
            return
        except QuartiersimError as exc:
            message.set(("error", ui.t("whatif.failed", message=str(exc))))
            return
        message.set(("success", ui.t("robust.finished", runs=2 * n)))
        result.set((source, n, table))

    task = solara.lab.use_task(work, dependencies=None, raise_error=False)
    running = bool(task.pending)

    with solara.Card(ui.t("robust.title"), classes=["qs-card", "qs-robust"], margin=0):
        if source is None:
            solara.Text(ui.t("robust.none"), classes=["qs-note"])
            return
        solara.Text(ui.t(f"robust.intro.{source}"), classes=["qs-note"])
        with solara.Row(gap="16px", style={"flex-wrap": "wrap", "align-items": "flex-end"}):
            with solara.Div(style={"min-width": "240px", "flex": "1"}):
                NumberControl(label=ui.t("robust.draws"), value=float(draws.value),
                              on_value=lambda x: draws.set(int(round(x))), low=DRAWS[1],
                              high=DRAWS[2], step=1, digits=0, unit="", shown=str(draws.value),
                              range_text=ui.t("range", low=str(DRAWS[1]), high=str(DRAWS[2])),
                              bounds=(DRAWS[1], DRAWS[2]), ui=ui, ident="robust-draws",
                              disabled=running)
            solara.Button(ui.t("robust.run"), color="primary", on_click=task,
                          disabled=blocked or running, classes=["qs-robust-run"])
            solara.Button(ui.t("whatif.cancel"), on_click=cancel.set, disabled=not running,
                          classes=["qs-robust-cancel"])
        RunStatus(running, progress.value, task, message.value, ui, "qs-robust")
        if result.value is not None:
            src, n, table = result.value
            solara.Text(ui.t("robust.result", draws=n, source=ui.t(f"robust.source.{src}")),
                        classes=["qs-result-intro"])
            solara.HTML(tag="div", unsafe_innerHTML=robust_html(table, ui),
                        classes=["qs-results-wrap"])

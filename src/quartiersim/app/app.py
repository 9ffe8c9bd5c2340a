"""quartiersim's interactive app: one page of Solara components for a municipal planner.

Serve it with ``quartiersim app [SCENARIO]`` or ``solara run src/quartiersim/app/app.py`` (the
scenario comes from ``QUARTIERSIM_SCENARIO``, else ``scenarios/herten-innenstadt.toml``;
the language from ``?lang=de|en`` in the address, else ``QUARTIERSIM_LANG``, else German).
The page has:

* a top bar with the scenario on screen and the language switch;
* a toolbar that stays in view: the scenario picker, Reset (highlighted while changed
  controls are not applied), Play/Pause, Step and the month with its date;
* the controls (:mod:`quartiersim.app.controls`): cooperation and financing model, the
  levers of these models by group, horizon and seed, and what the model on screen is;
* the map and the charts of the model on screen (:mod:`quartiersim.app.views`);
* the what-if panel with downloads and the session upload (:mod:`quartiersim.app.whatif_panel`).

The model on screen is a Mesa model (:class:`~quartiersim.app.model.AppModel`), built in a
background thread from the applied inputs (:class:`~quartiersim.app.state.Inputs`).
Mesa's SolaraViz is not used: its Reset rebuilt the model from ``AppModel``'s defaults
(the wrong scenario), and it shows developer controls and English-only labels; this page
keeps Mesa's model and replaces the page around it.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import solara
import solara.lab

from quartiersim.app.controls import LeverPanel, ModelSelect
from quartiersim.app.i18n import LANGUAGES, UI, pick_language
from quartiersim.app.params import all_controls, cooperation_choices, financing_choices, visible_levers
from quartiersim.app.state import (
    LANG_ENV,
    Inputs,
    initial_scenario,
    inputs_of_session,
    scenario_choices,
)
from quartiersim.app.style import CSS
from quartiersim.app.views import MapCard, SeriesCharts, month_text
from quartiersim.app.whatif_panel import WhatIfPanel, variant_text
from quartiersim.config.loading import load_scenario
from quartiersim.errors import QuartiersimError
from quartiersim.studies.whatif import WhatIfSession

#: Seconds between two months while playing (the page redraws in between).
PLAY_PAUSE_S = 0.05


def query_language(search: str | None) -> str | None:
    """``lang`` of an address's query string (``lang=en&x=1`` -> ``en``), or None."""
    for part in (search or "").split("&"):
        k, _, val = part.partition("=")
        if k == "lang":
            return val
    return None


@solara.component
def Layout(children: list[Any] = []) -> None:  # noqa: B006 (solara's signature)
    """No app bar and no sidebar around the page (solara's default AppLayout adds a
    sidebar that becomes a modal on a tablet)."""
    solara.Column(children=children, style={"padding": "0", "gap": "0"})


@solara.component
def Page() -> None:
    router = solara.use_router()
    lang = solara.use_reactive(pick_language(query_language(router.search), os.environ.get(LANG_ENV)))
    ui = UI(lang.value)
    path = solara.use_reactive(initial_scenario())
    restore = solara.use_reactive(None)  # a loaded session: the page takes its inputs
    choices = scenario_choices(path.value)
    solara.Style(CSS)
    solara.Title(f"quartiersim · {path.value.stem}")

    def pick(name: str) -> None:
        if name in choices and choices[name] != path.value:
            restore.set(None)
            path.set(choices[name])

    def loaded(session: WhatIfSession) -> None:
        restore.set(session)
        path.set(Path(session.scenario))

    baseline = None
    error = None
    if not path.value.is_file():
        listing = ", ".join(str(p) for p in choices.values()) or ui.t("scenario.none")
        error = ui.t("scenario.missing", path=path.value, listing=listing)
    else:
        try:
            baseline = load_scenario(path.value)
        except QuartiersimError as exc:
            error = str(exc)
    TopBar(baseline.meta.name if baseline else path.value.name,
           baseline.meta.municipality if baseline else "", ui, lang)
    if baseline is None:
        with solara.Div(classes=["qs-toolbar"]):
            ModelSelect(ui.t("scenario.file"), path.value.name if path.value.name in choices else None,
                        list(choices), str, pick, classes=["qs-scenario"])
        solara.Error(error, classes=["scenario-error"])
        return
    QuarterPage(path.value, ui, choices, pick, loaded, restore.value).key(str(path.value))


@solara.component
def TopBar(name: str, municipality: str, ui: UI, lang: solara.Reactive[str]) -> None:
    with solara.Row(classes=["qs-topbar"], justify="space-between", style={"align-items": "center"}):
        with solara.Column(gap="0px"):
            solara.Text(f"quartiersim · {name}", classes=["qs-title"])
            solara.Text(f"{municipality + ' · ' if municipality else ''}{ui.t('app.subtitle')}",
                        classes=["qs-subtitle-bar"])
        with solara.ToggleButtonsSingle(value=lang, dense=True, classes=["qs-lang"]):
            for code in LANGUAGES:
                solara.Button(code.upper(), value=code, text=True, small=True,
                              attributes={"aria-label": f"{ui.t('language')}: {code}"})


@solara.component
def QuarterPage(path: Path, ui: UI, choices: dict[str, Path], pick: Any, loaded: Any,
                restored: WhatIfSession | None) -> None:
    """The page of one scenario file (keyed by it: a new scenario is a new page state)."""
    baseline = solara.use_memo(lambda: load_scenario(path), [str(path)])
    controls = solara.use_memo(lambda: all_controls(baseline), [str(path)])

    def start() -> Inputs:
        if restored is not None and Path(restored.scenario) == path:
            return inputs_of_session(restored, baseline)
        return Inputs.of(path, baseline)

    first = solara.use_memo(start, [])
    draft = solara.use_reactive(first)
    applied = solara.use_reactive(first)
    builds = solara.use_reactive(0)  # Reset with unchanged inputs rebuilds too
    steps = solara.use_reactive(0)
    playing = solara.use_reactive(False)

    def take_session() -> None:
        """A session loaded while this scenario is on screen: its inputs become the model
        on screen (in place: the upload that loaded it lives on this page)."""
        if restored is None or Path(restored.scenario) != path:
            return
        inputs = inputs_of_session(restored, baseline)
        if inputs == applied.value == draft.value:
            return
        playing.set(False)
        steps.set(0)
        draft.set(inputs)
        applied.set(inputs)
        builds.set(builds.value + 1)

    solara.use_effect(take_session, [id(restored)])

    inputs = applied.value
    task = solara.lab.use_task(lambda: inputs.build(controls),
                               dependencies=[inputs.key(controls), builds.value])
    model = task.value if task.finished else None

    pending = draft.value.key(controls) != applied.value.key(controls)

    def reset() -> None:
        playing.set(False)
        steps.set(0)
        applied.set(draft.value)
        builds.set(builds.value + 1)

    def step() -> None:
        if model is not None and model.running:
            model.step()
        steps.set(model.quarter.steps if model is not None else 0)

    def play_loop() -> None:
        if not playing.value:
            return
        while playing.value and model is not None and model.running:
            model.step()
            steps.set(model.quarter.steps)
            time.sleep(PLAY_PAUSE_S)
        playing.set(False)

    solara.lab.use_task(play_loop, dependencies=[playing.value, id(model)])

    with solara.Div(classes=["qs-toolbar"]):
        ModelSelect(ui.t("scenario.file"), path.name, list(choices), str, pick, classes=["qs-scenario"])
        solara.Button(ui.t("btn.reset"), on_click=reset, color="warning" if pending else "primary",
                      classes=["qs-reset"] + (["qs-pending"] if pending else []),
                      icon_name="mdi-restart")
        running = model is not None and model.running
        if playing.value:
            solara.Button(ui.t("btn.pause"), on_click=lambda: playing.set(False), color="primary",
                          outlined=True, icon_name="mdi-pause", classes=["qs-play"])
        else:
            solara.Button(ui.t("btn.play"), on_click=lambda: playing.set(True), color="primary",
                          outlined=True, icon_name="mdi-play", disabled=not running,
                          classes=["qs-play"])
        solara.Button(ui.t("btn.step"), on_click=step, color="primary",
                      disabled=playing.value or not running, icon_name="mdi-step-forward",
                      classes=["qs-step"])
        if model is None:
            solara.Text(ui.t("building", name=baseline.meta.name,
                             residents=ui.number(baseline.population.residents)),
                        classes=["qs-month", "qs-building"])
        else:
            solara.Text(month_text(model, ui), classes=["qs-month"])
    with solara.Div(classes=["qs-notes"]):  # always there: the page's structure stays
        if pending:
            solara.Warning(ui.t("pending"), classes=["qs-pending-note"], dense=True)
        if task.error:
            solara.Error(f"{type(task.exception).__name__}: {task.exception}")

    with solara.Div(classes=["qs-main"]):
        with solara.Div(classes=["qs-side"]):
            Controls(baseline, controls, draft, applied.value, ui, pending)
        if model is None:
            with solara.Div(classes=["qs-views"]):
                with solara.Card(classes=["qs-card", "qs-building-card"], margin=0):
                    solara.ProgressLinear(True)
                    solara.Text(ui.t("building", name=baseline.meta.name,
                                     residents=ui.number(baseline.population.residents)))
        else:
            with solara.Div(classes=["qs-views", "qs-grid"]):
                MapCard(model, steps.value, ui)
                SeriesCharts(model, steps.value, ui)
        with solara.Div(classes=["qs-whatif-wrap"]):
            if model is not None and model.error:
                solara.Error(ui.t("invalid_lever", message=model.error,
                                  cooperation=ui.cooperation(baseline.default_cooperation),
                                  financing=ui.financing(baseline.default_financing)),
                             classes=["lever-error"])
            WhatIfPanel(baseline, applied.value, model, controls, ui, pending, path.parent, choices,
                        loaded, restored if restored is not None and Path(restored.scenario) == path
                        else None)


@solara.component
def Controls(baseline: Any, controls: dict, draft: solara.Reactive[Inputs], applied: Inputs,
             ui: UI, pending: bool) -> None:
    """What the model on screen is, and the controls of the draft."""
    d = draft.value
    with solara.Card(ui.t("on_screen"), classes=["qs-card", "qs-on-screen"], margin=0):
        solara.Text(ui.t("on_screen.text", scenario=baseline.meta.name,
                         cooperation=ui.cooperation(applied.cooperation),
                         financing=ui.financing(applied.financing), seed=applied.seed,
                         years=ui.years(applied.years),
                         span=ui.span(baseline.meta.start_year, applied.years)),
                    classes=["qs-on-screen-text"])
        changed = variant_text(applied.changed(controls), None, None, "", "", controls, ui)
        solara.Text(f"{ui.t('changed_levers')}: {changed or ui.t('no_changed_levers')}",
                    classes=["qs-on-screen-levers"])
        if pending:
            drafted = variant_text(d.changed(controls), d.cooperation, d.financing,
                                   applied.cooperation, applied.financing, controls, ui)
            extra = [f"{ui.t('years')}: {d.years}" if d.years != applied.years else "",
                     f"{ui.t('seed')}: {d.seed}" if d.seed != applied.seed else ""]
            text = "; ".join(x for x in [drafted, *extra] if x)
            solara.Text(f"{ui.t('pending.list')}: {text or '…'}", classes=["qs-pending-list"])
    with solara.Card(ui.t("levers"), classes=["qs-card", "qs-levers"], margin=0):
        ModelSelect(ui.t("cooperation"), d.cooperation, cooperation_choices(), ui.cooperation,
                    lambda name: draft.set(replace(draft.value, cooperation=name)),
                    classes=["qs-cooperation"])
        ModelSelect(ui.t("financing"), d.financing, financing_choices(baseline), ui.financing,
                    lambda name: draft.set(replace(draft.value, financing=name)),
                    classes=["qs-financing"])
        groups = visible_levers(controls, d.cooperation, d.financing)
        LeverPanel(groups, d.levers, lambda key, value: draft.set(draft.value.with_lever(key, value)),
                   ui, d.seed, d.years, lambda s: draft.set(replace(draft.value, seed=s)),
                   lambda y: draft.set(replace(draft.value, years=y)), baseline.meta.start_year)

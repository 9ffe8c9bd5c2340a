"""quartiersim's interactive app, on Mesa's SolaraViz.

Serve it with ``quartiersim app [SCENARIO]`` or ``solara run src/quartiersim/app/app.py`` (the scenario
comes from the environment variable ``QUARTIERSIM_SCENARIO``, else
``scenarios/herten-innenstadt.toml``). The page has:

* a scenario picker (``scenarios/*.toml``);
* SolaraViz's Step / Play / Reset and the lever controls generated from the scenario
  schema (:mod:`quartiersim.app.params`): cooperation and financing model, budgets, volunteer
  coordination, volunteering rate, ...;
* the quarter map (cells by unmet need or coverage, service points, barriers,
  volunteers' density) and time series of coverage, mandatory cases and the budget;
* the what-if panel (:mod:`quartiersim.app.whatif_panel`).

An invalid lever shows a message in the page (the model falls back to the baseline);
a missing scenario file shows which files exist.
"""

from __future__ import annotations

import os
from pathlib import Path

import solara  # noqa: E402
from mesa.visualization import SolaraViz  # noqa: E402

from quartiersim.app.components import PLOTS, QuarterMap  # noqa: E402
from quartiersim.app.model import AppModel  # noqa: E402
from quartiersim.app.params import model_params  # noqa: E402
from quartiersim.app.whatif_panel import WhatIfPanel  # noqa: E402
from quartiersim.config.files import (  # noqa: E402
    DEFAULT_SCENARIO,
    SCENARIO_ENV,
    default_scenario,
    default_scenario_dir,
    scenario_files,
)
from quartiersim.config.loading import load_scenario  # noqa: E402
from quartiersim.errors import QuartiersimError  # noqa: E402


def initial_scenario() -> Path:
    """The scenario named by ``QUARTIERSIM_SCENARIO``, else Herten (or the first file) in
    ``scenarios/``."""
    named = os.environ.get(SCENARIO_ENV)
    if named:
        return Path(named)
    return default_scenario() or default_scenario_dir() / DEFAULT_SCENARIO


#: The scenario on screen (per browser session).
scenario_path = solara.reactive(initial_scenario())


def scenario_choices(current: Path) -> dict[str, Path]:
    """File name -> path of the scenario files next to ``current`` (else in scenarios/)."""
    files = scenario_files(current.parent) or scenario_files(default_scenario_dir())
    return {f.name: f for f in files}


@solara.component
def QuarterApp(path: Path) -> None:
    """SolaraViz for one scenario file, with the what-if panel below it."""
    model = solara.use_reactive(solara.use_memo(lambda: AppModel(scenario_file=str(path)), [path]))
    params = solara.use_memo(lambda: model_params(model.value.baseline, path), [path])
    if model.value.error:
        solara.Error(f"Invalid lever value: {model.value.error}", classes=["lever-error"])
    SolaraViz(model, components=[QuarterMap, *PLOTS], model_params=params,
              name=f"quartiersim · {model.value.baseline.meta.name}")
    WhatIfPanel(model.value)


@solara.component
def Page() -> None:
    path = scenario_path.value
    choices = scenario_choices(path)
    with solara.Sidebar():
        with solara.Card("Scenario"):
            solara.Select("Scenario file", value=path.name if path.name in choices else None,
                          values=list(choices),
                          on_value=lambda name: scenario_path.set(choices[name]))
    if not path.is_file():
        listing = ", ".join(str(p) for p in choices.values()) or "none"
        solara.Error(f"{path}: no such scenario file; scenario files: {listing}. "
                     "Pick one in the sidebar.", classes=["scenario-error"])
        return
    try:
        load_scenario(path)
    except QuartiersimError as exc:
        solara.Error(str(exc), classes=["scenario-error"])
        return
    QuarterApp(path).key(str(path))

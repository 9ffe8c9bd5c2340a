"""The model on screen: flat lever keyword arguments -> overrides -> Scenario -> QuarterModel.

The page's controls are flat values (a scenario file, a cooperation and a financing
model, a seed, a horizon and levers by dotted key); :class:`QuarterModel` takes a config
object (a validated :class:`~quartiersim.config.schema.Scenario`). :class:`AppModel` is the
one adapter between them, a Mesa ``Model`` like the one it steps: it builds the variant
scenario with :func:`quartiersim.studies.whatif.lever_overrides` and
``Scenario.with_overrides`` and steps a :class:`QuarterModel` (``self.quarter``). The
scenario file has no default: a model is always built from the file on screen (Mesa's
SolaraViz rebuilt its model on Reset from this class's defaults, i.e. another scenario).

An invalid lever combination never raises: the adapter falls back to the scenario's
baseline and keeps the message in :attr:`AppModel.error`, which the page shows.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from mesa import DataCollector, Model

from quartiersim.config.loading import load_scenario
from quartiersim.config.overrides import parse_value
from quartiersim.config.schema import Scenario
from quartiersim.errors import QuartiersimError
from quartiersim.sim.model import QuarterModel
from quartiersim.studies.whatif import Lever, lever_overrides, levers, validate_variant


def coerce(lever: Lever, value: Any) -> Any:
    """A widget value as the lever's type: text is parsed as a TOML value, integral
    floats become ints for integer levers (sliders may deliver 8700.0)."""
    if isinstance(value, str):
        value = parse_value(value.strip())
    if lever.kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class AppModel(Model):
    """A QuarterModel built from flat keyword arguments, for the app's page.

    Args:
        scenario_file: path of the scenario TOML file (the baseline).
        cooperation: cooperation model name (None: the scenario's default).
        financing: financing model name (None: the scenario's default).
        seed: random seed of the quarter model.
        years: horizon; stepping stops after ``12 * years`` months.
        **lever_values: dotted lever keys (see :func:`quartiersim.studies.whatif.levers`) and values.

    Attributes:
        quarter: the QuarterModel being stepped.
        baseline: the scenario as written in the file.
        overrides: the dotted overrides the variant applies (empty on fallback).
        error: the message of an invalid lever value or model choice, else None.
    """

    def __init__(self, scenario_file: str | Path, cooperation: str | None = None,
                 financing: str | None = None, seed: int = 0, years: int = 10,
                 **lever_values: Any) -> None:
        super().__init__(rng=int(seed))
        #: Held while the quarter steps; drawing the model holds it too (Play steps in a
        #: thread while the page draws: a step grows the residents' arrays).
        self.lock = threading.RLock()
        self.scenario_file = str(scenario_file)
        self.years = int(years)
        self.baseline: Scenario = load_scenario(self.scenario_file)
        self.error: str | None = None
        try:
            known = {lv.key: lv for lv in levers(self.baseline)}
            values = {k: coerce(known[k], v) if k in known else v for k, v in lever_values.items()}
            self.overrides = lever_overrides(self.baseline, values)
            variant = validate_variant(self.baseline, self.overrides, cooperation, financing)
            self.quarter = QuarterModel(variant, cooperation=cooperation, financing=financing,
                                        rng=int(seed), years=self.years)
        except (QuartiersimError, ValueError, TypeError) as exc:
            self.error = (f"{exc}\nShowing the scenario's baseline "
                          f"({self.baseline.default_cooperation} / {self.baseline.default_financing}) "
                          "instead; change the lever and press Reset.")
            self.overrides = {}
            self.quarter = QuarterModel(self.baseline, rng=int(seed), years=self.years)
        self.cooperation_name = self.quarter.cooperation.name
        self.financing_name = self.quarter.financing.name

    @property
    def datacollector(self) -> DataCollector:
        """The quarter model's DataCollector (monthly series, ``SERIES_KEYS``)."""
        return self.quarter.datacollector

    def step(self) -> None:
        """One month of the quarter model; stops at the horizon."""
        with self.lock:
            self.quarter.step()
            self.running = self.quarter.steps < 12 * self.years

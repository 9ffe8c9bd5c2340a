"""quartiersim: agent-based simulation of social provision in urban quarters.

Compare cooperation models (how social offers are organised) and financing models
(who pays) by demand coverage and fiscal cost::

    import quartiersim as qs
    sc = qs.load_scenario("scenarios/herten-innenstadt.toml")
    res = qs.run(sc, model="coproduction", seed=1, years=10)
    res.summary["coverage"], res.series["municipal_cost_eur"]
    qs.compare(sc, models=["municipal", "coproduction"], seeds=10)

The names below are imported on first use (PEP 562): ``import quartiersim.cli`` (the
command line's ``--help``) or ``import quartiersim.config`` does not import the
simulation and its numeric libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quartiersim.config.loading import load_scenario
    from quartiersim.config.schema import Scenario
    from quartiersim.errors import QuartiersimError, ScenarioError, UnknownNameError
    from quartiersim.studies.runner import RunResult, compare, run

#: public name -> the module that defines it
_WHERE = {"load_scenario": "quartiersim.config.loading", "Scenario": "quartiersim.config.schema",
          "QuartiersimError": "quartiersim.errors", "ScenarioError": "quartiersim.errors",
          "UnknownNameError": "quartiersim.errors", "RunResult": "quartiersim.studies.runner",
          "compare": "quartiersim.studies.runner", "run": "quartiersim.studies.runner"}

__all__ = ["QuartiersimError", "RunResult", "Scenario", "ScenarioError", "UnknownNameError",
           "compare", "load_scenario", "run"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'quartiersim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])

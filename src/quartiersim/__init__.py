"""quartiersim: agent-based simulation of social provision in urban quarters.

Compare cooperation models (how social offers are organised) and financing models
(who pays) by demand coverage and fiscal cost::

    import quartiersim as qs
    sc = qs.load_scenario("scenarios/herten-innenstadt.toml")
    res = qs.run(sc, model="coproduction", seed=1, years=10)
    res.summary["coverage"], res.series["municipal_cost_eur"]
    qs.compare(sc, models=["municipal", "coproduction"], seeds=10)
"""

from quartiersim.config.loading import load_scenario
from quartiersim.config.schema import Scenario
from quartiersim.errors import QuartiersimError, ScenarioError, UnknownNameError
from quartiersim.studies.runner import RunResult, compare, run

__all__ = ["QuartiersimError", "RunResult", "Scenario", "ScenarioError", "UnknownNameError",
           "compare", "load_scenario", "run"]
__version__ = "0.1.0"

"""Cooperation models: how the quarter's social offers are organised (one module each;
the protocol in :mod:`quartiersim.sim.cooperation.base`, the parameters in
:mod:`quartiersim.config.cooperation`)."""

from quartiersim.config.cooperation import COOPERATION_PARAMS
from quartiersim.sim.cooperation.base import (
    COOPERATION_MODELS,
    CooperationModel,
    Payment,
    register,
)
from quartiersim.sim.cooperation.contracting import Contracting
from quartiersim.sim.cooperation.coproduction import Coproduction
from quartiersim.sim.cooperation.innovation_lab import InnovationLab
from quartiersim.sim.cooperation.integration_centre import IntegrationCentre
from quartiersim.sim.cooperation.meeting_point import MeetingPoint
from quartiersim.sim.cooperation.municipal import MunicipalProvision

__all__ = ["COOPERATION_MODELS", "Contracting", "CooperationModel", "Coproduction",
           "InnovationLab", "IntegrationCentre", "MeetingPoint", "MunicipalProvision",
           "Payment", "register"]

# the registry in the configuration's order (the order ``compare`` shows the models in),
# whatever order the modules were imported in
assert set(COOPERATION_MODELS) == set(COOPERATION_PARAMS), "a cooperation model without parameters"
for _name in COOPERATION_PARAMS:
    COOPERATION_MODELS[_name] = COOPERATION_MODELS.pop(_name)

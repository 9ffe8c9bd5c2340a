"""Financing models: where the quarter's voluntary funds come from, and who pays each euro
(see :mod:`quartiersim.sim.financing.base`); the twelve instruments are in
:mod:`quartiersim.sim.financing.instruments`."""

from quartiersim.sim.financing.base import (
    INSTRUMENTS,
    RESIDENT_RUN,
    FinancingModel,
    Instrument,
    YearFunds,
    register_instrument,
)
from quartiersim.sim.financing.instruments import (
    GrantManagement,
    GrantProgramme,
    OverheadCompensation,
)

__all__ = ["INSTRUMENTS", "RESIDENT_RUN", "FinancingModel", "GrantManagement", "GrantProgramme",
           "Instrument", "OverheadCompensation", "YearFunds", "register_instrument"]

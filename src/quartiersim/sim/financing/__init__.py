"""Financing models: where the quarter's voluntary funds come from, and who pays each euro
(see :mod:`quartiersim.sim.financing.base`); the eleven instruments are in
:mod:`quartiersim.sim.financing.instruments`."""

from quartiersim.sim.financing.base import (
    INSTRUMENTS,
    RESIDENT_RUN,
    FinancingModel,
    Instrument,
    YearFunds,
    register_instrument,
)
from quartiersim.sim.financing.instruments import GrantManagement, GrantProgramme

__all__ = ["INSTRUMENTS", "RESIDENT_RUN", "FinancingModel", "GrantManagement", "GrantProgramme",
           "Instrument", "YearFunds", "register_instrument"]

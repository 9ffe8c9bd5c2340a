"""The simulation layer: the quarter model (:class:`~quartiersim.sim.model.QuarterModel`),
its state, space, agents, ledger, shocks, cooperation models, financing instruments,
processes and outcomes. Imports only :mod:`quartiersim.config` below it."""

"""The studies layer: run and compare, what-if, stress test, experiments, batch, report,
synthetic cities. Built on :mod:`quartiersim.sim` and :mod:`quartiersim.config`."""

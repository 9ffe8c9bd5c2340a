"""Reports on batch results: comparison table, Pareto front, series bands, coverage by group
and distance, sensitivity indices (SALib) and scenario discovery (PRIM, EMA Workbench).

:func:`write_report` reads a results directory written by :func:`quartiersim.studies.batch.run_batch`
and writes ``report.html`` (self-contained: figures embedded as PNG) and ``report.md``
(figures as PNG files under ``figures/``). The analysis functions are pure functions of
the runs table (one row per run) and may be used on their own.

Needs the optional extra ``analysis`` (matplotlib, SALib, ema_workbench).
"""

from quartiersim.studies.report.analysis import *  # noqa: F403
from quartiersim.studies.report.figures import *  # noqa: F403
from quartiersim.studies.report.writing import *  # noqa: F403

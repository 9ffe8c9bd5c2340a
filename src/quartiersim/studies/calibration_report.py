"""The files ``quartiersim calibrate`` writes (see :mod:`quartiersim.studies.calibration`):
the posterior (Parquet), tables of parameters, fit and generations (CSV and Markdown), a
figure per parameter (matplotlib) and one Markdown page that says how a scenario uses the
posterior."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from quartiersim.config.fileio import atomic_write, atomic_write_text, strict_json
from quartiersim.config.schema import Scenario
from quartiersim.config.uncertainty import WEIGHT_COLUMN

if TYPE_CHECKING:
    from quartiersim.studies.calibration import CalibrationResult


def figure(result: CalibrationResult, key: str) -> bytes:
    """The posterior of one parameter (weighted histogram) over its prior range, with the
    prior's density, the posterior mean and the 5-95 % interval; PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    prior = result.spec.parameters[key]
    row = result.parameters.set_index("parameter").loc[key]
    x = result.posterior[key].to_numpy(dtype=float)
    w = result.posterior[WEIGHT_COLUMN].to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    bins = np.linspace(float(prior.low), float(prior.high), 21)
    ax.hist(x, bins=bins, weights=w, density=True, color="#4c72b0", alpha=0.8,
            label="posterior")
    if prior.prior.value == "uniform":
        ax.hlines(1.0 / (float(prior.high) - float(prior.low)), prior.low, prior.high,
                  colors="grey", linestyles="--", label="prior (uniform)")
    ax.axvline(row["mean"], color="black", lw=1.2, label=f"mean {row['mean']:.4g}")
    ax.axvspan(row["q05"], row["q95"], color="orange", alpha=0.15, label="5-95 %")
    ax.set_xlim(float(prior.low), float(prior.high))
    ax.set_xlabel(key)
    ax.set_ylabel("density")
    ax.set_title(f"{key}\nsd {row['sd_ratio']:.0%} of the prior's, mean moved "
                 f"{row['shift']:+.2f} prior sd", fontsize=9)
    ax.legend(fontsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _md(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return "n/a" if not np.isfinite(v) else format(float(v), floatfmt)
        return str(v).replace("|", "\\|")

    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "".join("| " + " | ".join(cell(v) for v in r) + " |\n"
                          for r in df.itertuples(index=False))


def shown_path(path: str | Path) -> str:
    """``path`` relative to the working directory when it lies below it (the command as
    typed in the repository), else as given: no machine's absolute path in a committed file."""
    p = Path(path)
    try:
        return Path(os.path.relpath(p.resolve(), Path.cwd())).as_posix() \
            if p.resolve().is_relative_to(Path.cwd().resolve()) else str(p)
    except (OSError, ValueError):
        return str(p)


def reference_line(scenario: Scenario, posterior: Path) -> str:
    """The line a scenario adds under ``[uncertainty]`` to use ``posterior``."""
    rel = os.path.relpath(posterior.resolve(), Path(scenario.path).resolve().parent)
    return f'posterior = "{Path(rel).as_posix()}"'


def page(result: CalibrationResult, scenario: Scenario, targets_path: Path,
         out: Path) -> str:
    """``calibration.md``: targets, parameters, fit, generations and how to use the posterior."""
    spec = result.spec
    gens = result.generations
    fit = result.fit[["target", "outcome", "figure", "fitted", "before_mean", "before_q05",
                      "before_q95", "before_hits", "after_mean", "after_q05", "after_q95",
                      "after_hits"]]
    params = result.parameters[["parameter", "prior", "low", "high", "mean", "sd", "q05", "q95",
                                "sd_ratio", "shift"]]
    sources = "\n".join(f"- **{t.name}** ({t.outcome}, {t.describe()}, "
                        f"{'fitted' if t.fit else 'held back'}): {t.source}" for t in spec.targets)
    figs = "\n".join(f"![{k}](figures/{k}.png)" for k in spec.parameters)
    return f"""# Calibration: {scenario.meta.name}

`quartiersim calibrate {shown_path(scenario.path)} --targets {shown_path(targets_path)}` (ABC-SMC, pyabc):
{result.simulations} simulations in {result.seconds / 60:.1f} minutes, {len(gens)}
generations of {spec.abc.population_size} particles; each simulation one run of the status
quo (model `{spec.model or scenario.default_cooperation}`, financing
`{spec.financing or scenario.default_financing}`) over {spec.years} years after the
spin-up, with drawn parameters and a fresh seed.

## Targets

{sources}

## Fit

Each target against {spec.abc.check_draws} runs of the scenario as written (`before_*`) and
{spec.abc.check_draws} runs of posterior draws (`after_*`), all with seeds not used in the
fit: mean, 5-95 %, share of hits (inside the band; within 2 sd of a value).

{_md(fit)}
## Parameters

Prior (uniform or log-uniform on [low, high]) and posterior (weighted particles of the last
generation): `sd_ratio` = posterior sd / prior sd (1: not informed by the targets),
`shift` = move of the mean in prior sds.

{_md(params)}
{figs}

## Generations

{_md(gens)}
## Use

Add to `{scenario.path}`:

```toml
[uncertainty]
{reference_line(scenario, out / "posterior.parquet")}
```

then `quartiersim compare {scenario.path} --uncertainty posterior` ranks the cooperation
models over posterior draws.
"""


def write_outputs(result: CalibrationResult, scenario: Scenario, targets_path: Path,
                  out: Path, db_file: Path) -> list[Path]:
    """Write every output file into ``out`` (each atomically); returns their paths."""
    files = [atomic_write(out / "posterior.parquet", lambda p: result.posterior.to_parquet(p)),
             atomic_write(out / "parameters.csv", lambda p: result.parameters.to_csv(p, index=False)),
             atomic_write_text(out / "parameters.md", _md(result.parameters)),
             atomic_write(out / "fit.csv", lambda p: result.fit.to_csv(p, index=False)),
             atomic_write_text(out / "fit.md", _md(result.fit)),
             atomic_write(out / "generations.csv",
                          lambda p: result.generations.to_csv(p, index=False))]
    figures = out / "figures"
    figures.mkdir(exist_ok=True)
    for key in result.spec.parameters:
        png = figure(result, key)
        files.append(atomic_write(figures / f"{key}.png", lambda p, b=png: p.write_bytes(b)))
    meta = {"scenario": shown_path(scenario.path), "targets": shown_path(targets_path),
            "model": result.spec.model or scenario.default_cooperation,
            "financing": result.spec.financing or scenario.default_financing,
            "years": result.spec.years, "abc": result.spec.abc.model_dump(),
            "simulations": result.simulations, "seconds": round(result.seconds, 1),
            "generations": len(result.generations),
            "reference": reference_line(scenario, out / "posterior.parquet")}
    files.append(atomic_write_text(out / "calibration.json", strict_json(meta, indent=1) + "\n"))
    files.append(atomic_write_text(out / "calibration.md",
                                   page(result, scenario, targets_path, out)))
    files.append(db_file)
    return files


__all__ = ["figure", "page", "reference_line", "write_outputs"]

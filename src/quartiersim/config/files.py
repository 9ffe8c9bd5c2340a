"""Where scenario files are: the app and the command line open ``scenarios/`` of the
working directory, else of the source checkout."""

from __future__ import annotations

from pathlib import Path

#: Environment variable naming the scenario file the app opens first.
SCENARIO_ENV = "QUARTIERSIM_SCENARIO"



def scenario_files(directory: str | Path) -> list[Path]:
    """Scenario files (``*.toml``) in a directory, sorted; empty if it does not exist."""
    d = Path(directory)
    return sorted(d.glob("*.toml")) if d.is_dir() else []


def default_scenario_dir() -> Path:
    """``scenarios/`` of the working directory, else of the source checkout."""
    here = Path.cwd() / "scenarios"
    return here if here.is_dir() else Path(__file__).resolve().parents[3] / "scenarios"


#: The scenario opened when none is named (if present; else the first file).
DEFAULT_SCENARIO = "herten-innenstadt.toml"


def default_scenario() -> Path | None:
    """``scenarios/herten-innenstadt.toml`` if it exists, else the first ``*.toml`` there."""
    files = scenario_files(default_scenario_dir())
    preferred = [f for f in files if f.name == DEFAULT_SCENARIO]
    return (preferred or files or [None])[0]

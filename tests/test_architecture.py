"""The layer contract: config <- sim <- studies <- cli | app, checked by import-linter."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_layers_import_only_downwards():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe, "import-linter is part of the test extra: pip install -e '.[test]'"
    proc = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 kept, 0 broken" in proc.stdout


def test_readme_where_things_are_lists_every_module():
    """README's module map is made by scripts/module_map.py and must be current."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("module_map", ROOT / "scripts" / "module_map.py")
    mm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mm)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert mm.readme_block(readme) == mm.module_map(), \
        "README's module map is stale: python scripts/module_map.py --write"

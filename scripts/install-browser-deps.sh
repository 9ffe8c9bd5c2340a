#!/usr/bin/env bash
# scripts/install-browser-deps.sh [VENV]   (VENV defaults to .venv)
#
# Installs what the app (src/quartiersim/app/app.py), its in-process Solara render tests and its real
# headless-Chromium tests need, on an offline Debian machine that reaches only PyPI,
# Debian's packages and npm. Adapted from the verified set-up in /work/browser-setup.
#   1. Debian's chromium (+ fonts-liberation) -> /usr/bin/chromium          (only if missing)
#   2. into VENV: the project with its `viz` and `test` extras, then playwright,
#      pytest-playwright, pytest-ipywidgets (= the installed solara's version),
#      solara-assets (the CDN files solara would fetch from jsdelivr) and
#      "ipyvuetify<3" "ipyvue<3" (with 3.x the page stays blank)        (only if missing/wrong)
#   3. vega@5, vega-lite@5, vega-embed@6 and katex@0.16.9 from npm into
#      VENV/share/solara/cdn, the folder solara's /_solara/cdn/ proxy serves from: the
#      app's map and charts are Vega-Lite (solara's VegaLite widget), its texts
#      solara.Markdown (katex); offline, solara-assets lacks these bundles and the charts
#      stay empty                                                         (only if missing)
# Never downloads a browser through playwright (no `playwright install`).
# Idempotent; a re-run with everything present takes about a second.
# If VENV does not exist it is created with $PYTHON (default python3).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${1:-.venv}
PYTHON=${PYTHON:-python3}
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PIP_DISABLE_PIP_VERSION_CHECK=1 DEBIAN_FRONTEND=noninteractive

log() { printf '[install-browser-deps] %s\n' "$*"; }
quiet_pip() { "$PY" -m pip install -q "$@" 2> >(grep -v "^WARNING: Location 'file://" >&2); }

# --- 1. chromium ---------------------------------------------------------------------------
if [ -x /usr/bin/chromium ]; then
    log "chromium present: /usr/bin/chromium"
else
    log "installing Debian chromium (apt-get)"
    SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    # no recommends (udev, upower, printer tools...); fonts-liberation so page text has a font
    $SUDO apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        chromium fonts-liberation >/dev/null
    [ -x /usr/bin/chromium ] || { log "ERROR: /usr/bin/chromium still missing"; exit 1; }
fi

# --- 2. python packages into the venv ---------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    log "creating venv $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
VENV=$(cd "$VENV" && pwd)
PY="$VENV/bin/python"

# exit 0 when the project (with its viz extra) and all test packages are installed and
# ipyvue/ipyvuetify are of major version < 3
if "$PY" - <<'PYEOF'
import importlib.metadata as md, sys
need = ["quartiersim", "solara", "matplotlib", "tomli-w", "babel", "playwright", "pytest",
        "pytest-playwright", "pytest-ipywidgets", "solara-assets", "ipyvuetify", "ipyvue"]
try:
    v = {n: md.version(n) for n in need}
except md.PackageNotFoundError:
    sys.exit(1)
sys.exit(0 if all(int(v[n].split(".")[0]) < 3 for n in ("ipyvue", "ipyvuetify")) else 1)
PYEOF
then
    log "python packages present in $VENV"
else
    if ! "$PY" -c 'import importlib.metadata as m; m.version("quartiersim"); m.version("solara"); m.version("tomli-w"); m.version("babel")' 2>/dev/null; then
        log "pip installing the project with extras viz,test into $VENV"
        quiet_pip -e "$HERE[viz,test]"
    fi
    pkgs=(playwright pytest pytest-playwright solara-assets "ipyvuetify<3" "ipyvue<3")
    # keep solara's pytest plugin at the installed solara's version, so pip doesn't move solara
    sol=$("$PY" -c 'import importlib.metadata as m; print(m.version("solara"))')
    pkgs+=("pytest-ipywidgets==$sol")
    log "pip installing into $VENV: ${pkgs[*]}"
    quiet_pip "${pkgs[@]}"
fi

# --- 3. vega bundles into solara's CDN cache ------------------------------------------------
# solara serves /_solara/cdn/<path> from settings.assets.proxy_cache_dir (default
# sys.prefix/share/solara/cdn = VENV/share/solara/cdn); ask solara in case settings differ.
CDN=$("$PY" -c 'from solara.server import settings; print(settings.assets.proxy_cache_dir)' 2>/dev/null \
      || echo "$VENV/share/solara/cdn")
CDN=${CDN%/}
# katex@0.16.9: solara.Markdown (the what-if panel's text) loads it; solara-assets lacks it
declare -A MAIN=([vega@5]=build/vega.min.js [vega-lite@5]=build/vega-lite.min.js
                 [vega-embed@6]=build/vega-embed.min.js [katex@0.16.9]=dist/contrib/auto-render.min.js)
missing=()
for spec in vega@5 vega-lite@5 vega-embed@6 katex@0.16.9; do
    [ -s "$CDN/$spec/${MAIN[$spec]}" ] || missing+=("$spec")
done
if [ ${#missing[@]} -eq 0 ]; then
    log "vega and katex bundles present in $CDN"
else
    command -v npm >/dev/null || { log "ERROR: npm needed for ${missing[*]}"; exit 1; }
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    for spec in "${missing[@]}"; do
        log "npm pack $spec -> $CDN/$spec"
        f=$(cd "$tmp" && npm pack --silent "$spec" | tail -1)
        mkdir -p "$tmp/x-$spec"
        tar -xzf "$tmp/$f" -C "$tmp/x-$spec" --strip-components=1
        mkdir -p "$CDN"
        rm -rf "${CDN:?}/$spec"
        mv "$tmp/x-$spec" "$CDN/$spec"        # whole, so a half-extracted folder never counts as present
        [ -s "$CDN/$spec/${MAIN[$spec]}" ] || { log "ERROR: $CDN/$spec/${MAIN[$spec]} missing"; exit 1; }
    done
fi
log "done"

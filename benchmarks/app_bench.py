"""Responsiveness of the app (a measurement script, not a timed test).

Measures, for a scenario (default Herten):

1. in-process: one Step click with the page's re-render (solara.render, no browser);
2. in a real headless Chromium against ``quartiersim app``: Step click -> the month
   counter shows the new month (server step + re-render + websocket + DOM);
3. the same Step latency while a what-if (``--seeds`` x ``--years``, baseline and
   variant) runs in the background, the what-if's wall time, and the time from Cancel
   (of a second what-if, after its first run) until Run can be pressed again;

and saves screenshots (``--screenshots DIR``): ``app-desktop.png`` (1280x720) and
``app-tablet.png`` (800x1000) of the page, ``app-herten.png`` of the whole page with the
what-if result.

    .venv/bin/python benchmarks/app_bench.py [--steps 20] [--seeds 10] [--years 10]
        [--screenshots docs] [--lang de|en] [--json]

Target (issue #5): one step with re-render <= 300 ms for Herten. Needs the browser set-up
(scripts/install-browser-deps.sh) for parts 2-3; ``--no-browser`` runs part 1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
TIMEOUT_MS = 600_000


def stats_ms(xs: list[float]) -> dict[str, float]:
    ms = sorted(1000 * x for x in xs)
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 1),
            "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 1), "max_ms": round(ms[-1], 1)}


def bench_in_process(scenario: Path, steps: int) -> dict[str, float]:
    os.environ["QUARTIERSIM_SCENARIO"] = str(scenario)
    import ipyvuetify as v
    import solara

    from quartiersim.app import app

    box, rc = solara.render(app.Page(), handle_error=False)

    def step_button():
        found = []

        def walk(w):
            if isinstance(w, str):
                return
            if isinstance(w, v.Btn) and "qs-step" in (w.class_ or "").split():
                found.append(w)
            for k in getattr(w, "children", None) or []:
                walk(k)

        walk(rc.container)
        return found[0] if found else None

    t0 = time.monotonic()
    while step_button() is None or step_button().disabled:
        if time.monotonic() - t0 > TIMEOUT_MS / 1000:
            raise RuntimeError("the model was not built")
        time.sleep(0.05)
    step = step_button()
    step.click()  # warm-up
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step.click()
        times.append(time.perf_counter() - t)
    rc.close()
    return stats_ms(times)


def bench_browser(scenario: Path, steps: int, seeds: int, years: int, shots: Path | None,
                  lang: str) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    from quartiersim.cli.app import serve_in_background, stop_background

    work = Path(tempfile.mkdtemp(prefix="app_bench_"))
    t0 = time.perf_counter()
    proc, url = serve_in_background(scenario, work, work / "server.log", timeout_s=TIMEOUT_MS / 1000)
    out: dict[str, object] = {"server_ready_s": round(time.perf_counter() - t0, 2)}
    en = lang == "en"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.set_default_timeout(TIMEOUT_MS)
            t0 = time.perf_counter()
            page.goto(f"{url}?lang={lang}")
            drawn = page.locator(".quarter-map .qs-vega[data-rendered^='s'] svg").first
            drawn.wait_for()
            out["page_usable_s"] = round(time.perf_counter() - t0, 2)
            if shots is not None:
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / "app-desktop.png"))
            # the variant: co-production and 100,000 EUR/yr more budget
            budget = page.locator(".qs-lever-municipality-voluntary_budget_eur_per_year input[type=number]")
            budget.fill("550000")
            budget.press("Enter")
            page.locator(".qs-cooperation").click()
            page.get_by_role("option", name="Co-production" if en else "Koproduktion", exact=True).click()
            page.locator(".qs-reset.qs-pending").click()
            page.locator(".qs-on-screen-text").get_by_text(
                "Co-production" if en else "Koproduktion", exact=False).wait_for()
            page.locator(".qs-building-card").wait_for(state="detached")
            drawn.wait_for()
            month = 0
            word = "Month" if en else "Monat"

            def one_step() -> float:
                nonlocal month
                month += 1
                t = time.perf_counter()
                page.locator(".qs-step").click()
                page.locator(".qs-month").get_by_text(f"{word} {month} ", exact=False).wait_for()
                return time.perf_counter() - t

            one_step()  # warm-up
            out["step_idle"] = stats_ms([one_step() for _ in range(steps)])

            for key, value in (("whatif-seeds", seeds), ("whatif-years", years)):
                f = page.locator(f".qs-lever-{key} input[type=number]")
                f.fill(str(value))
                f.press("Enter")
            page.locator(".qs-lever-whatif-seeds .qs-number-value").get_by_text(
                str(seeds), exact=True).wait_for()
            t_run = time.perf_counter()
            page.locator(".qs-run").click()
            page.locator(".qs-progress").wait_for()
            busy = []
            while page.locator(".qs-progress").count() and len(busy) < steps:
                busy.append(one_step())
            page.locator(".qs-message-success").wait_for()
            out["whatif_wall_s"] = round(time.perf_counter() - t_run, 1)
            out["whatif_runs"] = 2 * seeds
            out["step_during_whatif"] = stats_ms(busy) if busy else "what-if ended first"
            # Cancel -> usable again: a new what-if, cancelled once its first run finished
            page.locator(".qs-run").click()
            page.locator(".qs-progress").get_by_text(
                re.compile(r"^\s*[1-9]\d* (of|von)")).wait_for()
            t_cancel = time.perf_counter()
            page.locator(".qs-cancel").click()
            page.locator(".qs-run:not([disabled])").wait_for()
            out["cancel_to_usable_s"] = round(time.perf_counter() - t_cancel, 2)
            if shots is not None:
                page.locator(".whatif-series .qs-vega[data-rendered^='s']").first.wait_for()
                page.set_viewport_size({"width": 1400, "height": 900})
                # the whole page in one picture: the toolbar and the controls stay in place
                page.add_style_tag(content=".qs-toolbar, .qs-side { position: static !important; "
                                           "max-height: none !important; overflow: visible !important; }")
                page.screenshot(path=str(shots / "app-herten.png"), full_page=True)
                tablet = browser.new_page(viewport={"width": 800, "height": 1000})
                tablet.set_default_timeout(TIMEOUT_MS)
                tablet.goto(f"{url}?lang={lang}")
                tablet.locator(".quarter-map .qs-vega[data-rendered^='s'] svg").first.wait_for()
                tablet.screenshot(path=str(shots / "app-tablet.png"))
                out["screenshots"] = [str(shots / n) for n in
                                      ("app-desktop.png", "app-tablet.png", "app-herten.png")]
            browser.close()
    finally:
        stop_background(proc)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "herten-innenstadt.toml")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--screenshots", type=Path, default=None, metavar="DIR")
    ap.add_argument("--lang", choices=("de", "en"), default="de")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result: dict[str, object] = {"scenario": args.scenario.name, "cpus": os.cpu_count(),
                                 "load_avg_1min": round(os.getloadavg()[0], 2)}
    result["in_process_step"] = bench_in_process(args.scenario, args.steps)
    if not args.no_browser:
        result["browser"] = bench_browser(args.scenario, args.steps, args.seeds, args.years,
                                          args.screenshots, args.lang)
    result["load_avg_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

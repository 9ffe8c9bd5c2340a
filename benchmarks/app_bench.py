"""Responsiveness of the app (a measurement script, not a timed test).

Measures, for a scenario (default Herten):

1. in-process: one Step click with the page's re-render (solara.render, no browser);
2. in a real headless Chromium against ``quartiersim app``: Step click -> the step
   counter shows the new month (server step + re-render + websocket + DOM);
3. the same Step latency while a what-if (``--seeds`` x ``--years``, baseline and
   variant) runs in the background, and the what-if's wall time;

and saves a screenshot of the page with the what-if results (``--screenshot``).

    .venv/bin/python benchmarks/app_bench.py [--steps 20] [--seeds 10] [--years 10]
        [--screenshot docs/app-herten.png] [--json]

Target (issue #5): one step with re-render <= 300 ms for Herten. Needs the browser set-up
(scripts/install-browser-deps.sh) for parts 2-3; ``--no-browser`` runs part 1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def stats_ms(xs: list[float]) -> dict[str, float]:
    ms = sorted(1000 * x for x in xs)
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 1),
            "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 1), "max_ms": round(ms[-1], 1)}


def bench_in_process(scenario: Path, steps: int) -> dict[str, float]:
    os.environ["QUARTIERSIM_SCENARIO"] = str(scenario)
    import ipyvuetify as v
    import solara

    from quartiersim.app import app

    box, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    step = rc.find(v.Btn, children=["Step"]).widget
    step.click()  # warm-up
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step.click()
        times.append(time.perf_counter() - t0)
    return stats_ms(times)


def bench_browser(scenario: Path, steps: int, seeds: int, years: int,
                  screenshot: Path | None) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    from quartiersim.cli.app import serve_in_background, stop_background

    work = Path(tempfile.mkdtemp(prefix="app_bench_"))
    t0 = time.perf_counter()
    proc, url = serve_in_background(scenario, work, work / "server.log")
    out: dict[str, object] = {"server_ready_s": round(time.perf_counter() - t0, 2)}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(120_000)
            t0 = time.perf_counter()
            page.goto(url)
            step = page.get_by_role("button", name="Step", exact=True)
            step.wait_for()
            page.locator(".quarter-map canvas").first.wait_for()
            page.locator(".series-chart canvas").nth(2).wait_for()
            out["page_usable_s"] = round(time.perf_counter() - t0, 2)
            # the variant: co-production and 100,000 EUR/yr more budget (4 slider steps)
            page.locator(".v-select").filter(has_text="Cooperation model").click()
            page.get_by_role("option", name="coproduction").click()
            budget = page.locator(".v-input").filter(has_text="Voluntary budget").get_by_role("slider")
            for _ in range(4):
                budget.focus()  # (re-rendered controls may lose the focus)
                page.keyboard.press("ArrowRight")
                page.wait_for_timeout(150)
            page.locator(".v-input").filter(has_text="Voluntary budget").get_by_role("slider") \
                .get_attribute("aria-valuenow")
            page.get_by_role("button", name="Reset", exact=True).click()
            page.locator(".whatif-panel").get_by_text("municipal → coproduction").wait_for()
            out["variant"] = page.locator(".whatif-panel").get_by_text("Variant changes").inner_text()
            month = 0

            def one_step() -> float:
                nonlocal month
                month += 1
                t = time.perf_counter()
                step.click()
                page.get_by_text(f"Time: {month}.0", exact=True).wait_for()
                return time.perf_counter() - t

            one_step()  # warm-up
            out["step_idle"] = stats_ms([one_step() for _ in range(steps)])

            panel = page.locator(".whatif-panel")
            for label, value in (("Seeds", seeds), ("Years", years)):
                slider = panel.locator(".v-input").filter(has_text=label).get_by_role("slider")
                current = int(slider.get_attribute("aria-valuenow"))
                slider.focus()
                key = "ArrowRight" if value > current else "ArrowLeft"
                for _ in range(abs(value - current)):
                    page.keyboard.press(key)
            t_run = time.perf_counter()
            panel.get_by_role("button", name="Run what-if").click()
            panel.get_by_text("runs finished").wait_for()
            busy = []
            while panel.get_by_text("runs finished").count() and len(busy) < steps:
                busy.append(one_step())
            panel.get_by_text("What-if finished").wait_for(timeout=600_000)
            out["whatif_wall_s"] = round(time.perf_counter() - t_run, 1)
            out["whatif_runs"] = 2 * seeds
            out["step_during_whatif"] = stats_ms(busy) if busy else "what-if ended first"
            if screenshot is not None:
                page.get_by_text("Mandatory cases avoided").first.wait_for()
                page.set_viewport_size({"width": 1400, "height": 2300})  # the app scrolls inside
                page.wait_for_timeout(1500)  # let the charts finish drawing
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
                out["screenshot"] = str(screenshot)
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
    ap.add_argument("--screenshot", type=Path, default=None)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result: dict[str, object] = {"scenario": args.scenario.name, "cpus": os.cpu_count(),
                                 "load_avg_1min": round(os.getloadavg()[0], 2)}
    result["in_process_step"] = bench_in_process(args.scenario, args.steps)
    if not args.no_browser:
        result["browser"] = bench_browser(args.scenario, args.steps, args.seeds, args.years,
                                          args.screenshot)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""How smoothly the map page redraws: frame times while a user zooms, pans and searches.

Opens a map page (written by `emb plot -o map.html`, or by emb-plot's example:
`cargo run -p emb-plot --release --example map -- DIR 100000`) in headless Chromium, once with
WebGL drawing the points and once with the canvas renderer the page falls back to, and drives it
with real input: wheel zooms over the whole map, drags that pan it, zooms with a search that
matches about a tenth of the points, and pans zoomed in. A requestAnimationFrame loop in the page
records when each frame starts; the script prints, per renderer and scenario, the median and
95th percentile time between frames, frames per second, and the frames over 33 ms (under
30 fps), as JSON lines and a table.

    python="$(scripts/setup-browser)"
    "$python" bench/map/frames.py /tmp/map/map.html [--renderers webgl,canvas] [--seconds 4]

Headless Chromium has no GPU here: its WebGL runs on SwiftShader, a software renderer on the
CPU, so the WebGL figures are what a machine without a GPU gets; with one they are better.
"""

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

VIEWPORT = {"width": 1280, "height": 800}

RECORD = """() => {
  window.frameStarts = [];
  window.recording = true;
  const record = (time) => {
    if (!window.recording) return;
    window.frameStarts.push(time);
    requestAnimationFrame(record);
  };
  requestAnimationFrame(record);
}"""

STOP = """() => { window.recording = false; return window.frameStarts; }"""


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", type=Path, help="the map page (an HTML file)")
    parser.add_argument("--renderers", default="webgl,canvas", help="which to measure (default webgl,canvas)")
    parser.add_argument("--seconds", type=float, default=4, help="how long each scenario runs (default 4)")
    parser.add_argument("--search", default="sqlite", help="the search typed for the search scenario (default sqlite: about a tenth of the example map)")
    return parser.parse_args()


def summary(starts, renderer, scenario):
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
    if not gaps:
        return {"renderer": renderer, "scenario": scenario, "frames": 0}
    gaps.sort()
    seconds = (starts[-1] - starts[0]) / 1000
    return {
        "renderer": renderer,
        "scenario": scenario,
        "frames": len(gaps),
        "median_ms": round(statistics.median(gaps), 1),
        "p95_ms": round(gaps[min(len(gaps) - 1, int(0.95 * len(gaps)))], 1),
        "fps": round(len(gaps) / seconds, 1) if seconds > 0 else None,
        "over_33ms": sum(gap > 33.4 for gap in gaps),
    }


def measure(page, seconds, drive):
    """Runs `drive(step)` for each input step until `seconds` pass, recording frames meanwhile."""
    page.evaluate(RECORD)
    started = page.evaluate("() => performance.now()")
    step = 0
    while page.evaluate("() => performance.now()") - started < seconds * 1000:
        drive(step)
        step += 1
    return page.evaluate(STOP)


def scenarios(page, options):
    centre_x, centre_y = VIEWPORT["width"] / 2 - 120, VIEWPORT["height"] / 2
    mouse = page.mouse

    def reset():
        page.click("#reset")
        page.wait_for_timeout(200)

    def zoom(step):
        # In and out over about 6x around the centre: 10 steps each way.
        mouse.move(centre_x, centre_y)
        mouse.wheel(0, -120 if (step // 10) % 2 == 0 else 120)

    def pan(step):
        # Back and forth, 10 px a step.
        x = centre_x + (step % 40 - 20 if (step // 40) % 2 == 0 else 20 - step % 40) * 10
        mouse.move(x, centre_y)

    results = {}
    reset()
    results["zoom, whole map"] = measure(page, options.seconds, zoom)
    reset()
    mouse.move(centre_x, centre_y)
    mouse.down()
    results["pan, whole map"] = measure(page, options.seconds, pan)
    mouse.up()
    reset()
    page.fill("#search", options.search)
    page.wait_for_timeout(600)
    matches = page.text_content("#matches")
    results[f"zoom, search active ({matches})"] = measure(page, options.seconds, zoom)
    page.fill("#search", "")
    page.wait_for_timeout(600)
    reset()
    mouse.move(centre_x, centre_y)
    for _ in range(12):
        mouse.wheel(0, -120)
    page.wait_for_timeout(300)
    mouse.down()
    results["pan, zoomed in"] = measure(page, options.seconds, pan)
    mouse.up()
    return results


def main():
    options = arguments()
    if not options.page.is_file():
        sys.exit(f"no page at {options.page}: write one with emb plot -o map.html or emb-plot's map example")
    browser_path = shutil.which("chromium") or "/usr/bin/chromium"
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        for renderer in options.renderers.split(","):
            page = browser.new_page(viewport=VIEWPORT)
            page.add_init_script(f"window.embMapRenderer = {json.dumps(renderer)};")
            page.goto(options.page.resolve().as_uri())
            page.wait_for_function("() => document.body.dataset.points", timeout=120_000)
            used = page.evaluate("() => document.body.dataset.renderer")
            if used != renderer:
                sys.exit(f"asked for the {renderer} renderer, but the page uses {used}")
            points = int(page.evaluate("() => document.body.dataset.points"))
            for scenario, starts in scenarios(page, options).items():
                row = summary(starts, renderer, scenario)
                row["points_on_screen"] = points
                rows.append(row)
                print(json.dumps(row), flush=True)
            page.close()
        browser.close()
    print(file=sys.stderr)
    print(f"{'renderer':<8} {'scenario':<44} {'median ms':>9} {'p95 ms':>7} {'fps':>6} {'>33 ms':>7}", file=sys.stderr)
    for row in rows:
        print(
            f"{row['renderer']:<8} {row['scenario']:<44} {row.get('median_ms', '-'):>9} {row.get('p95_ms', '-'):>7}"
            f" {row.get('fps', '-'):>6} {row.get('over_33ms', '-'):>7}/{row['frames']}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Test of the map page (`emb plot -o map.html`, and the map of `emb serve`) in headless Chromium:
both of its renderers, WebGL and the canvas it falls back to, must draw the same map.

For each renderer the page is loaded with that renderer forced; the test checks that it is the
one used, that it reports the points it drew, and that its pixels show them; it then types a
search and checks that the matches are counted and the map changes, and saves a screenshot. Last
it compares the two: the same number of points, and where the ink lies (a grid of how much of
each cell is not white) alike. Prints one JSON line that sums up what it saw; exits 1 with a
message on stderr at the first thing that is wrong.

    python="$(scripts/setup-browser)"
    "$python" tests/browser/map_test.py map.html --search shuttle --screenshots DIR
"""

import argparse
import json
import math
import shutil
import sys
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from ink import INK

VIEWPORT = {"width": 1100, "height": 700}
GRID = (32, 20)  # columns and rows of the ink grid


class Failure(Exception):
    """Something the page does wrong, said so that a reader can act on it."""


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", type=Path, help="the map page (an HTML file)")
    parser.add_argument("--search", required=True, help="a search that matches some of the points, not all")
    parser.add_argument("--screenshots", type=Path, required=True, help="the folder to save the screenshots in")
    return parser.parse_args()


def correlation(left, right):
    mean_left = sum(left) / len(left)
    mean_right = sum(right) / len(right)
    covariance = sum((a - mean_left) * (b - mean_right) for a, b in zip(left, right))
    spread = math.sqrt(sum((a - mean_left) ** 2 for a in left) * sum((b - mean_right) ** 2 for b in right))
    return covariance / spread if spread > 0 else 0.0


def look(browser, options, renderer, problems):
    page = browser.new_page(viewport=VIEWPORT)
    page.on("pageerror", lambda error: problems.append(f"{renderer}: script error: {error}"))
    page.add_init_script(f"window.embMapRenderer = {json.dumps(renderer)};")
    page.goto(options.page.resolve().as_uri())
    page.wait_for_function("() => document.body.dataset.points", timeout=60_000)
    used = page.evaluate("() => document.body.dataset.renderer")
    if used != renderer:
        raise Failure(f"the page was told to draw with {renderer} but draws with {used}")
    points = int(page.evaluate("() => document.body.dataset.points"))
    if points <= 0:
        raise Failure(f"{renderer}: the map reports that it drew no points")
    before = page.evaluate(INK, list(GRID))
    if before["coloured"] == 0:
        raise Failure(f"{renderer}: the map says it drew {points} points, but it is blank")
    page.screenshot(path=options.screenshots / f"map-{renderer}.png")
    page.fill("#search", options.search)
    try:
        matches = page.wait_for_function(
            """() => {
              const match = /^([\\d,]+) of [\\d,]+ match$/.exec(document.getElementById('matches').textContent);
              return match ? Number(match[1].replace(/,/g, '')) : null;
            }"""
        ).json_value()
    except PlaywrightError:
        raise Failure(f"{renderer}: the search {options.search!r} was not counted") from None
    page.wait_for_timeout(300)  # the next frame
    searched = page.evaluate(INK, list(GRID))
    if searched["grid"] == before["grid"]:
        raise Failure(f"{renderer}: the map looks the same with the search {options.search!r} as without")
    page.screenshot(path=options.screenshots / f"map-{renderer}-search.png")
    page.close()
    return {"points": points, "coloured": before["coloured"], "grid": before["grid"], "matches": matches, "searched": searched}


def main():
    options = arguments()
    options.screenshots.mkdir(parents=True, exist_ok=True)
    browser_path = shutil.which("chromium") or "/usr/bin/chromium"
    problems = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
            try:
                seen = {renderer: look(browser, options, renderer, problems) for renderer in ("webgl", "canvas")}
            finally:
                browser.close()
        webgl, canvas = seen["webgl"], seen["canvas"]
        if webgl["points"] != canvas["points"]:
            raise Failure(f"WebGL drew {webgl['points']} points and the canvas {canvas['points']}")
        if webgl["matches"] != canvas["matches"]:
            raise Failure(f"the search matched {webgl['matches']} points with WebGL and {canvas['matches']} with the canvas")
        ratio = webgl["coloured"] / canvas["coloured"]
        alike = correlation(webgl["grid"], canvas["grid"])
        alike_searched = correlation(webgl["searched"]["grid"], canvas["searched"]["grid"])
        if not 0.8 <= ratio <= 1.25:
            raise Failure(f"WebGL coloured {webgl['coloured']} pixels and the canvas {canvas['coloured']}")
        if alike < 0.97 or alike_searched < 0.97:
            raise Failure(f"the two renderers put their ink in different places (correlation {alike:.3f}, {alike_searched:.3f} searched)")
        if problems:
            raise Failure("; ".join(problems))
    except (Failure, PlaywrightError) as failure:
        message = str(failure).strip()
        print(json.dumps({"ok": False, "error": message}))
        print(f"map test failed: {message}", file=sys.stderr)
        return 1
    print(json.dumps({
        "ok": True,
        "points": webgl["points"],
        "matches": webgl["matches"],
        "coloured_pixels": {"webgl": webgl["coloured"], "canvas": canvas["coloured"]},
        "ink_correlation": round(alike, 4),
        "ink_correlation_searched": round(alike_searched, 4),
        "screenshots": str(options.screenshots),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

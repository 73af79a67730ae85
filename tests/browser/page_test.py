#!/usr/bin/env python3
"""End-to-end test of the page `emb serve` shows at /, in headless Chromium.

Drives Debian's chromium through Playwright (never Playwright's own browsers) the way a user
would: enters the API key when asked, picks the collection, waits for its map, searches, checks
the ranked results and that the map drew and highlights them, opens a result's nearest
neighbours, goes back, clicks a point on the map and checks its neighbours, and saves a
screenshot. Prints one JSON line that sums up what it saw; exits 1 with a message on stderr at
the first thing that is wrong.

    python="$(scripts/setup-browser)"
    "$python" tests/browser/page_test.py --url http://127.0.0.1:8080 --collection docs \\
        --query "sqlite backup tools" --expect-id some/id --screenshot page.png
"""

import argparse
import json
import re
import shutil
import sys
import time
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from ink import INK

VIEWPORT = {"width": 1280, "height": 800}
NARROW_VIEWPORT = {"width": 560, "height": 900}
SCORE = re.compile(r"^-?\d+\.\d{3}$")  # three decimals, as the page prints scores


# The rows of the results list that are results (the row of the item whose neighbours are
# listed has no data-id).
RESULT_ROWS = """() => Array.from(document.querySelectorAll('#results > li[data-id]'), (row) => ({
  id: row.dataset.id,
  score: row.querySelector('.score').textContent,
  rank: row.querySelector('.rank').textContent,
}))"""


class Failure(Exception):
    """Something the page does wrong, said so that a reader can act on it."""


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the server's base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--collection", required=True, help="the collection to pick")
    parser.add_argument("--query", required=True, help="the text to search for")
    parser.add_argument("--expect-id", required=True, help="an id that must be among the query's results")
    parser.add_argument("--screenshot", required=True, help="where to save the PNG of the page at the end")
    parser.add_argument("--api-key", help="the server's API key, entered when the page asks for one")
    parser.add_argument("--narrow-screenshot", help="also save a PNG of the page in a narrow window here")
    parser.add_argument("--map-timeout", type=float, default=240, help="seconds the map may take to draw (default 240)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds any other step may take (default 60)")
    return parser.parse_args()


class PageTest:
    def __init__(self, page, options):
        self.page = page
        self.options = options
        self.timeout = options.timeout * 1000
        self.summary = {"url": options.url, "collection": options.collection, "query": options.query}
        self.problems = []  # script errors and requests outside the server, seen along the way
        self.step = "starting"  # what the test is doing, to say where a timeout struck
        origin = urlsplit(options.url)
        self.origin = f"{origin.scheme}://{origin.netloc}"
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("console", self.console)
        page.on("request", self.request)

    def console(self, message):
        # A 401 is logged as a failed resource by the browser: the page answers it by asking for
        # the key, so failed loads are left to the steps that check their effect.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.problems.append(f"console error: {message.text}")

    def request(self, request):
        url = request.url
        if not (url.startswith(self.origin + "/") or url.startswith(("about:", "data:", "blob:"))):
            self.problems.append(f"the page fetched {url}, outside the server: it must work offline")

    def check_problems(self):
        if self.problems:
            raise Failure("; ".join(self.problems))

    def run(self):
        page = self.page
        page.set_default_timeout(self.timeout)
        self.step = "loading the page"
        page.goto(self.options.url, wait_until="domcontentloaded")
        if self.options.api_key is not None:
            self.step = "entering the API key"
            self.enter_key()
        self.step = "picking the collection"
        self.pick_collection()
        self.step = "waiting for the map"
        self.wait_for_map()
        self.step = "searching"
        self.search()
        self.step = "opening a result's neighbours"
        self.open_result()
        self.step = "going back to the results"
        self.go_back()
        self.step = "clicking a point on the map"
        self.click_point()
        self.step = "saving the screenshot"
        page.screenshot(path=self.options.screenshot)
        self.summary["screenshot"] = self.options.screenshot
        if self.options.narrow_screenshot:
            # The window is made as tall as the stacked page rather than using a full-page
            # screenshot, which can leave the map's frame (a process of its own) blank. Panels
            # sized by the window's height grow with it, so this is repeated until it settles.
            size = dict(NARROW_VIEWPORT)
            for _ in range(5):
                page.set_viewport_size(size)
                height = min(page.evaluate("() => document.documentElement.scrollHeight"), 4000)
                if height <= size["height"]:
                    break
                size["height"] = height
            page.wait_for_timeout(500)  # the map redraws at its new size
            page.screenshot(path=self.options.narrow_screenshot)
            self.summary["narrow_screenshot"] = self.options.narrow_screenshot
        self.check_problems()

    def enter_key(self):
        """Enters a wrong key first, which must be refused and asked for again, then the right one."""
        page = self.page
        page.wait_for_selector("#key-dialog[open]", timeout=self.timeout)
        page.fill("#api-key", "wrong-" + self.options.api_key)
        page.click("#key-save")
        try:
            page.wait_for_function(
                """() => document.getElementById('key-dialog').open
                   && document.getElementById('key-reason').textContent.includes('did not accept')""",
                timeout=self.timeout,
            )
        except PlaywrightError:
            raise Failure("after a wrong API key the page did not say so and ask again") from None
        page.fill("#api-key", self.options.api_key)
        page.click("#key-save")
        page.wait_for_selector("#key-dialog", state="hidden")
        self.summary["api_key"] = "asked, a wrong key refused, the right one accepted"

    def pick_collection(self):
        page = self.page
        name = self.options.collection
        page.wait_for_function(
            "() => !document.getElementById('collection').disabled"
            " || document.getElementById('key-dialog').open"
            " || ['error', 'empty'].includes(document.getElementById('results-message').dataset.kind)"
        )
        if page.evaluate("() => document.getElementById('key-dialog').open"):
            raise Failure("the page asks for an API key: pass the server's key with --api-key")
        offered = page.eval_on_selector_all("#collection option", "(options) => options.map((option) => option.value)")
        if name not in offered:
            message = page.text_content("#results-message") or ""
            raise Failure(f"collection {name!r} is not in the picker (it offers {offered}); the page says: {message.strip()}")
        if page.input_value("#collection") != name:
            page.select_option("#collection", name)

    def wait_for_map(self):
        page = self.page
        started = time.monotonic()
        try:
            state = page.wait_for_function(
                """() => {
                  const state = document.getElementById('map-panel').dataset.state;
                  return state === 'ready' || state === 'error' || state === 'empty' ? state : null;
                }""",
                timeout=self.options.map_timeout * 1000,
            ).json_value()
        except PlaywrightError:
            raise Failure(f"the map was not drawn within {self.options.map_timeout:.0f} s") from None
        if state != "ready":
            raise Failure(f"the map is not shown: {page.text_content('#map-overlay p').strip()}")
        map_frame = page.query_selector("#map-frame").content_frame()
        points = int(map_frame.evaluate("() => document.body.dataset.points || '0'"))
        coloured = map_frame.evaluate(INK, [1, 1])["coloured"]
        if points <= 0:
            raise Failure("the map reports that it drew no points (body[data-points])")
        if coloured == 0:
            raise Failure(f"the map says it drew {points} points, but its canvas is blank")
        self.map_frame = map_frame
        self.summary["map"] = {
            "points": points,
            "coloured_pixels": coloured,
            "status": page.text_content("#map-status").strip(),
            "renderer": map_frame.evaluate("() => document.body.dataset.renderer"),
            "seconds": round(time.monotonic() - started, 2),
        }

    def wait_for_list(self, view, source=None):
        """Waits until the results list shows `view` (query or neighbours) answered; returns its rows."""
        page = self.page
        state = page.wait_for_function(
            """([view, source]) => {
              const list = document.getElementById('results');
              if (list.dataset.state === 'error') return 'error';
              if (list.dataset.state !== 'ready' || list.dataset.view !== view) return null;
              return source === null || list.dataset.source === source ? 'ready' : null;
            }""",
            arg=[view, source],
        ).json_value()
        if state == "error":
            raise Failure(f"the search failed; the page says: {page.text_content('#results-message').strip()}")
        rows = page.evaluate(RESULT_ROWS)
        for row in rows:
            if not SCORE.match(row["score"]):
                raise Failure(f"result {row['id']!r} shows score {row['score']!r}, not a number with 3 decimals")
        return rows

    def wait_for_highlight(self, least):
        """Waits until the map says it highlights at least `least` points; returns how many."""
        try:
            text = self.map_frame.wait_for_function(
                """(least) => {
                  const match = /^([\\d,]+) highlighted$/.exec(document.getElementById('matches').textContent);
                  return match && Number(match[1].replace(/,/g, '')) >= least ? match[1] : null;
                }""",
                arg=least,
                timeout=self.timeout,
            ).json_value()
        except PlaywrightError:
            shown = self.map_frame.text_content("#matches")
            raise Failure(f"the map does not highlight the results (it shows {shown!r})") from None
        return int(text.replace(",", ""))

    def search(self):
        page = self.page
        page.fill("#query", self.options.query)
        page.press("#query", "Enter")
        rows = self.wait_for_list("query")
        if not rows:
            raise Failure(f"the query {self.options.query!r} found nothing")
        ids = [row["id"] for row in rows]
        if self.options.expect_id not in ids:
            raise Failure(f"{self.options.expect_id!r} is not among the results: {ids}")
        scores = [float(row["score"]) for row in rows]
        if scores != sorted(scores, reverse=True):
            raise Failure(f"the results are not ranked by score: {scores}")
        if [row["rank"] for row in rows] != [str(rank) for rank in range(1, len(rows) + 1)]:
            raise Failure("the results are not numbered 1, 2, 3, ...")
        self.summary["results"] = {
            "count": len(rows),
            "expected_rank": ids.index(self.options.expect_id) + 1,
            "top": [{"id": row["id"], "score": float(row["score"])} for row in rows[:3]],
            "highlighted_on_map": self.wait_for_highlight(1),
            "summary": page.text_content("#results-summary").strip(),
        }

    def open_result(self):
        """Clicks the expected result: its neighbours are listed and the map centres on it."""
        page = self.page
        expected = self.options.expect_id
        ids = [row["id"] for row in page.evaluate(RESULT_ROWS)]
        page.locator("#results > li[data-id]").nth(ids.index(expected)).click()
        rows = self.wait_for_list("neighbours", expected)
        self.check_neighbours(expected, rows)
        self.summary["neighbours_of_result"] = {
            "id": expected,
            "count": len(rows),
            "top": rows[0]["id"],
            "highlighted_on_map": self.wait_for_highlight(len(rows)),
        }

    def go_back(self):
        self.page.click("#back")
        self.wait_for_list("query")

    def click_point(self):
        """Clicks the middle of the map, where the result opened before sits since the map
        centred on it: that point's neighbours must be listed."""
        self.map_frame.locator("#canvas").click()
        page = self.page
        page.wait_for_function("() => document.getElementById('results').dataset.view === 'neighbours'")
        clicked = page.get_attribute("#results", "data-source")
        rows = self.wait_for_list("neighbours", clicked)
        self.check_neighbours(clicked, rows)
        self.summary["neighbours_of_point"] = {"id": clicked, "count": len(rows), "top": rows[0]["id"]}

    @staticmethod
    def check_neighbours(source, rows):
        if not rows:
            raise Failure(f"no neighbours listed for {source!r}")
        if any(row["id"] == source for row in rows):
            raise Failure(f"{source!r} is listed among its own neighbours")


def main():
    options = arguments()
    started = time.monotonic()
    browser_path = shutil.which("chromium") or "/usr/bin/chromium"
    test = None
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport=VIEWPORT)
                test = PageTest(page, options)
                test.run()
            finally:
                browser.close()
    except (Failure, PlaywrightError) as failure:
        message = str(failure).strip()
        if test is not None and not isinstance(failure, Failure):
            # Playwright's own errors (timeouts mostly) do not say what the test was doing.
            message = f"while {test.step}: {message}"
            if test.problems:
                message += " (also: " + "; ".join(test.problems) + ")"
        summary = test.summary if test is not None else {}
        print(json.dumps({"ok": False, "error": message, **summary}))
        print(f"page test failed: {message}", file=sys.stderr)
        return 1
    print(json.dumps({"ok": True, **test.summary, "seconds": round(time.monotonic() - started, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

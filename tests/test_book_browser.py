"""The built book, opened in headless Chromium as a reader would see it.

Every page listed in _toc.yml loads with no failed request, no external request (the book
reads offline) and no JavaScript error; MathJax has typeset all the math; every image
loaded; every internal link and anchor resolves; each chapter's Colab badge opens that
chapter's notebook; exercise solutions are folded away; no code cell scrolls sideways in
the 1280-pixel window. A screenshot of the top of each page goes to _build/screenshots/
for a person to look at.

The book is built first (jupyter-book, executing the chapters in quick mode through the
jupyter-cache) unless _build/html is newer than every source, as after `make book`.
DCGAN_BOOK_ROOT points the test at another book folder. Skipped, saying how to install
it, only when Chromium is absent (`make test` installs it when run as root).
"""

from __future__ import annotations

import base64
import functools
import http.server
import io
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest
import yaml
from PIL import Image

from conftest import ROOT, load_tool, toc_pages

BOOK_ROOT = Path(os.environ.get("DCGAN_BOOK_ROOT", ROOT)).resolve()
HTML = BOOK_ROOT / "_build" / "html"
SCREENSHOTS = BOOK_ROOT / "_build" / "screenshots"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
# what a build depends on: a change to any of these makes the test rebuild the book
SOURCES = (
    "_config.yml",
    "_toc.yml",
    "references.bib",
    "*.md",
    "chapters/**/*",
    "tools/*.py",
    "_static/*",
    "widget/*.js",
    "widget/*.css",
    "dcgan_lib/**/*.py",
    "data/checkpoints/*",
)
MATHJAX_WAIT_S = 60
# console messages of the theme itself, harmless and not ours to fix: sphinx-thebe 0.3.1
# writes its config script twice (thebe is not used: no thebe launch button); the pydata
# theme reports a fresh profile's empty colour mode; browsers ask for a favicon the book lacks
KNOWN_CONSOLE_ERRORS = (
    "Identifier 'THEBE_JS_URL' has already been declared",
    "Got invalid theme mode",
    "/favicon.ico",
)

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="Chromium is not installed: as root, apt-get update && apt-get install -y chromium "
    "chromium-driver (`make test` does this when it runs as root)",
)


def toc_documents() -> list[str]:
    """Every page of the book in _toc.yml order, e.g. ['intro', 'chapters/00_preface', ...]."""
    return toc_pages(BOOK_ROOT, with_root=True)


def expected_colab_url(document: str) -> str:
    config = yaml.safe_load((BOOK_ROOT / "_config.yml").read_text())
    repository = urlparse(config["repository"]["url"]).path.strip("/")
    path_to_book = (config["repository"].get("path_to_book") or "").strip("/")
    notebook = f"{path_to_book}/{document}.ipynb".lstrip("/")
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    return f"{colab}/github/{repository}/blob/{config['repository']['branch']}/{notebook}"


def build_is_current() -> bool:
    """True if some page was written after the last change to any source (an incremental
    build rewrites only the pages that changed)."""
    pages = list(HTML.rglob("*.html"))
    if not (HTML / "index.html").exists() or not pages:
        return False
    built = max(page.stat().st_mtime for page in pages)
    sources = (path for pattern in SOURCES for path in BOOK_ROOT.glob(pattern) if path.is_file())
    return all(path.stat().st_mtime <= built for path in sources)


def build_book() -> None:
    """Build the book as `make book` does; fail with the end of the log if the build fails."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    # no MPLBACKEND=Agg here: the kernels must use the inline backend, or no figure reaches the book
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["DCGAN_QUICK"] = os.environ.get("DCGAN_QUICK", "1")
    result = subprocess.run(
        [str(jupyter_book), "build", str(BOOK_ROOT), "--warningiserror", "--keep-going"],
        capture_output=True,
        text=True,
        env=env,
    )
    if result.returncode != 0:
        pytest.fail(f"jupyter-book build failed:\n{(result.stdout + result.stderr)[-5000:]}")


class RecordingHandler(http.server.SimpleHTTPRequestHandler):
    """Serve the built book; remember every request that failed."""

    failures: list[str]

    def log_request(self, code="-", size="-"):
        if str(code).isdigit() and int(code) >= 400:
            self.failures.append(f"{code} {self.path}")

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def server():
    """Serve _build/html on a free loopback port; yield (base URL, list of failed requests)."""
    if not build_is_current():
        build_book()
    failures: list[str] = []
    handler = functools.partial(
        type("Handler", (RecordingHandler,), {"failures": failures}), directory=str(HTML)
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", failures
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium, closed network, fresh profile, driven by selenium's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(MATHJAX_WAIT_S + 10)
    yield driver
    driver.quit()


WAIT_FOR_MATHJAX = """
const limit = arguments[0] * 1000, done = arguments[arguments.length - 1], start = Date.now();
(function wait() {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(() => done("typeset"), error => done("MathJax error: " + error));
  } else if (Date.now() - start > limit) {
    done("MathJax did not load");
  } else {
    setTimeout(wait, 100);
  }
})();
"""

WAIT_FOR_IMAGES = """
const done = arguments[arguments.length - 1], start = Date.now();
for (const image of document.images) image.loading = "eager";
(function wait() {
  const pending = Array.from(document.images).filter(image => !image.complete);
  if (pending.length === 0 || Date.now() - start > 20000) done(pending.length); else setTimeout(wait, 100);
})();
"""

PAGE_FACTS = """
const prose = document.body.cloneNode(true);
// code cell inputs that scroll sideways, hidden ones (folded solutions) unfolded to measure
const folded = Array.from(document.querySelectorAll("details:not([open])"));
folded.forEach(details => details.open = true);
const wideCode = Array.from(document.querySelectorAll("div.cell_input")).filter(
    cell => [cell, ...cell.querySelectorAll(".highlight, pre")].some(
        node => node.scrollWidth > node.clientWidth + 1))
    .map(cell => (cell.querySelector("pre") || cell).textContent.slice(0, 60));
// text outputs that scroll sideways (course.css wraps them at the column's width)
const wideOutput = Array.from(document.querySelectorAll("div.cell_output pre")).filter(
    node => node.scrollWidth > node.clientWidth + 1).map(node => node.textContent.slice(0, 60));
// the width each image is drawn at (folded ones unfolded), against its own width in pixels
const drawn = Array.from(document.images).map(image => image.getBoundingClientRect().width);
folded.forEach(details => details.open = false);
prose.querySelectorAll("pre, code, script, style, .highlight, textarea").forEach(node => node.remove());
return {
  title: document.title,
  mathElements: document.querySelectorAll(".math").length,
  typeset: document.querySelectorAll("mjx-container").length,
  mathErrors: Array.from(document.querySelectorAll("mjx-merror")).map(node => node.textContent),
  rawMath: (prose.innerText.match(/\\$\\$|\\\\\\(|\\\\\\[/g) || []).length,
  images: Array.from(document.images).map((image, i) => ({src: image.currentSrc || image.src,
                                                         ok: image.complete && image.naturalWidth > 0,
                                                         drawnWidth: drawn[i],
                                                         naturalWidth: image.naturalWidth})),
  links: Array.from(document.querySelectorAll("a[href]")).map(link => link.href),
  colabBadges: Array.from(document.querySelectorAll("a")).filter(
      link => link.querySelector("img[alt='Open in Colab']")).map(link => link.href),
  colabLinks: Array.from(document.querySelectorAll("a[href*='colab.research.google.com']"))
      .map(link => link.href),
  resources: performance.getEntriesByType("resource").map(entry => entry.name),
  solutionsShown: Array.from(document.querySelectorAll(".tag_solution")).map(
      cell => (cell.querySelector(".cell_input") || cell.querySelector(".cell_output")
               || cell.querySelector("p, pre") || cell).checkVisibility()),
  wideCode: wideCode,
  wideOutput: wideOutput,
};
"""


def visit(driver, url: str, screenshot: Path) -> dict:
    """Open one page, wait for MathJax and the images, take a screenshot, return its facts."""
    driver.get_log("browser")  # drop messages from the previous page
    driver.get(url)
    mathjax = "no math"
    if driver.execute_script("return document.querySelectorAll('.math').length") > 0:
        mathjax = driver.execute_async_script(WAIT_FOR_MATHJAX, MATHJAX_WAIT_S)
    pending_images = driver.execute_async_script(WAIT_FOR_IMAGES)
    facts = driver.execute_script(PAGE_FACTS)
    facts.update(
        mathjax=mathjax,
        pending_images=pending_images,
        console_errors=[
            entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
        ],
    )
    driver.save_screenshot(str(screenshot))
    return facts


@pytest.fixture(scope="module")
def pages(server, browser) -> dict[str, dict]:
    """Visit every page in _toc.yml once; return {document: facts}, and how long it took."""
    base, failures = server
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    started, facts = time.perf_counter(), {}
    for document in toc_documents():
        facts[document] = visit(
            browser, base + document + ".html", SCREENSHOTS / (document.replace("/", "_") + ".png")
        )
        facts[document]["failed_requests"] = list(failures)
        failures.clear()
    facts["__seconds__"] = time.perf_counter() - started
    return facts


def each_page(pages) -> list[tuple[str, dict]]:
    return [(document, facts) for document, facts in pages.items() if document != "__seconds__"]


def test_every_page_loads_with_no_failed_request_or_script_error(pages):
    for document, facts in each_page(pages):
        assert (HTML / f"{document}.html").exists(), f"{document}.html was not built"
        failed = [
            request
            for request in facts["failed_requests"]
            if not request.endswith(" /favicon.ico")
        ]
        assert failed == [], f"{document}: failed requests {failed}"
        errors = [
            message
            for message in facts["console_errors"]
            if not any(known in message for known in KNOWN_CONSOLE_ERRORS)
        ]
        assert errors == [], f"{document}: JavaScript errors {errors}"
        assert "404" not in facts["title"], f"{document}: {facts['title']}"


def test_pages_request_nothing_outside_the_book(pages):
    for document, facts in each_page(pages):
        external = [url for url in facts["resources"] if not url.startswith("http://127.0.0.1:")]
        assert external == [], (
            f"{document} loads {external}: these fail offline; serve them from _static/"
        )


def test_mathjax_typeset_all_math(pages):
    pages_with_math = 0
    for document, facts in each_page(pages):
        assert facts["rawMath"] == 0, f"{document}: raw $$, \\( or \\[ left in the text"
        assert facts["mathErrors"] == [], f"{document}: TeX errors {facts['mathErrors']}"
        if facts["mathElements"]:
            pages_with_math += 1
            assert facts["mathjax"] == "typeset", f"{document}: {facts['mathjax']}"
            assert facts["typeset"] >= facts["mathElements"], (
                f"{document}: {facts['typeset']} of {facts['mathElements']} formulas typeset"
            )
    assert pages_with_math > 0, "no page has math: is dollarmath enabled in _config.yml?"


def test_every_image_loaded(pages):
    for document, facts in each_page(pages):
        broken = [image["src"] for image in facts["images"] if not image["ok"]]
        assert facts["pending_images"] == 0 and broken == [], (
            f"{document}: images not loaded {broken}"
        )


def test_chapters_show_the_figures_their_cells_draw(pages):
    # a kernel on a non-inline matplotlib backend (e.g. MPLBACKEND=Agg inherited from the
    # environment) executes fine but leaves every figure out of the book
    for document, facts in each_page(pages):
        if not re.match(r"chapters/(0[1-9]|1[0-9])_", document):
            continue  # the preface draws nothing; back matter has no code
        figures = [
            image["src"]
            for image in facts["images"]
            if "/_images/" in image["src"] and "colab-badge" not in image["src"]
        ]
        assert figures, f"{document}: no figure from the notebook's outputs is on the page"


MIN_TILE_PX = 40  # issue 13: each image of a grid at no less than about 40 pixels
grid_sizes = load_tool("grid_sizes")


def image_file(src: str, base: str) -> Image.Image | None:
    """The picture behind an <img> src: a file of the built book, or an inline data URI."""
    if src.startswith("data:image/"):
        return Image.open(io.BytesIO(base64.b64decode(src.split("base64,", 1)[1])))
    if src.startswith(base) and src.endswith(".png"):
        return Image.open(HTML / src[len(base) :])
    return None


def test_image_grids_show_each_image_at_40_pixels_or_more(pages, server):
    base, _ = server
    small, grids = [], 0
    for document, facts in each_page(pages):
        for image in facts["images"]:
            picture = image_file(image["src"], base)
            if picture is None or not image["naturalWidth"] or not image["drawnWidth"]:
                continue
            scale = image["drawnWidth"] / image["naturalWidth"]
            for width in grid_sizes.tile_widths(picture):
                grids += 1
                if width * scale < MIN_TILE_PX:
                    small.append(f"{document}: {image['src'][-30:]} {width * scale:.0f} px")
    assert grids >= 10, f"only {grids} rows of image grids found: is the detector broken?"
    assert small == [], "grids whose images are drawn under 40 pixels:\n" + "\n".join(small)


def anchors_of(html_file: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', html_file.read_text(encoding="utf-8")))


def test_no_broken_internal_links(pages, server):
    base, _ = server
    broken = []
    for document, facts in each_page(pages):
        for link in set(facts["links"]):
            if not link.startswith(base):
                continue
            url, fragment = urldefrag(link)
            target = HTML / unquote(url[len(base) :])
            if target.is_dir() or url.endswith("/"):
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{document} -> {link} (no such file)")
            elif (
                fragment
                and target.suffix == ".html"
                and unquote(fragment) not in anchors_of(target)
            ):
                broken.append(f"{document} -> {link} (no such anchor)")
    assert broken == [], "broken internal links:\n" + "\n".join(sorted(broken))


def test_colab_badge_opens_the_chapters_notebook(pages):
    notebooks = [
        document for document, _ in each_page(pages) if (BOOK_ROOT / f"{document}.ipynb").exists()
    ]
    assert notebooks, "no chapter notebooks in _toc.yml"
    for document in notebooks:
        facts, expected = pages[document], expected_colab_url(document)
        assert facts["colabBadges"] == [expected], (
            f"{document}: the Colab badge links to {facts['colabBadges']}, expected [{expected}]"
        )
        assert set(facts["colabLinks"]) == {expected}, (
            f"{document}: Colab links {facts['colabLinks']}"
        )


def test_exercise_solutions_are_folded_away(pages):
    for document, facts in each_page(pages):
        if (BOOK_ROOT / f"{document}.ipynb").exists():
            shown = facts["solutionsShown"]
            assert shown, f"{document}: no solution cell (tag them ['hide-cell', 'solution'])"
            assert not any(shown), (
                f"{document}: {sum(shown)} of {len(shown)} solutions visible on load"
            )


def test_no_code_cell_scrolls_sideways(pages):
    # at the browser's 1280-pixel window the code column shows about 79 characters: the
    # chapters keep their code lines that short (tests/test_chapters.py, chapters/ruff.toml)
    wide = {
        document: facts["wideCode"] for document, facts in each_page(pages) if facts["wideCode"]
    }
    assert wide == {}, "code cells wider than the page (they scroll sideways):\n" + "\n".join(
        f"{document}: {start!r}" for document, starts in wide.items() for start in starts
    )


def test_no_output_scrolls_sideways(pages):
    # printed text wider than the column (a sentence, a check's report) wraps onto the next
    # line (_static/course.css) instead of hiding its end behind a scroll bar
    wide = {
        document: facts["wideOutput"]
        for document, facts in each_page(pages)
        if facts["wideOutput"]
    }
    assert wide == {}, "outputs wider than the page (they scroll sideways):\n" + "\n".join(
        f"{document}: {start!r}" for document, starts in wide.items() for start in starts
    )


def test_screenshots_of_every_page_are_written(pages):
    for document, _ in each_page(pages):
        screenshot = SCREENSHOTS / (document.replace("/", "_") + ".png")
        assert screenshot.stat().st_size > 5000, f"{screenshot} is missing or blank"
    print(
        f"\nbrowser checks of {len(pages) - 1} pages took {pages['__seconds__']:.0f} s; "
        f"screenshots in {SCREENSHOTS}"
    )


# ----------------------------------------------------------------------------- the generator widget

WIDGETS_READY = """
const done = arguments[arguments.length - 1];
const widgets = window.dcganWidgets || [];
Promise.all(widgets.map(widget => widget.ready)).then(started => done(widgets.map((widget, i) => ({
  model: widget.name, started: started[i], modes: Object.keys(widget.canvases),
  message: widget.root.classList.contains("dcgan-widget-message") ? widget.root.textContent : ""}))));
"""

# press "New samples", wait for the drawing; return the z it used and the canvas at one screen
# pixel per generated pixel (the top-left of each SCALE x SCALE block), RGB, image by image
NEW_SAMPLES_PIXELS = """
const done = arguments[arguments.length - 1], widget = window.dcganWidgets[arguments[0]];
widget.root.querySelector("button").click();
widget.busy.then(() => {
  const canvas = widget.canvases.samples, size = widget.meta.image_size, scale = 2, columns = 8;
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const pixels = [];
  for (let n = 0; n < widget.lastCount; n++) {
    const left = (n % columns) * size * scale, top = Math.floor(n / columns) * size * scale;
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) for (let c = 0; c < 3; c++)
      pixels.push(data[4 * ((top + y * scale) * canvas.width + left + x * scale) + c]);
  }
  done({seed: widget.seed, z: Array.from(widget.lastZ), count: widget.lastCount, size: size,
        nc: widget.meta.nc, nz: widget.meta.nz, categories: widget.categories, pixels: pixels});
});
"""

WIDGET_PAGES = {"intro": "mnist5k-32-code", "chapters/09_latent_space": "shapes-32-code"}


def open_widget_page(browser, url: str) -> list[dict]:
    browser.get(url)
    return browser.execute_async_script(WIDGETS_READY)


@pytest.mark.parametrize("document", WIDGET_PAGES)
def test_the_widget_draws_what_the_python_generator_draws(server, browser, document):
    import numpy as np
    import torch

    from dcgan_lib import load_generator, pretrained_path, to_uint8

    base, failures = server
    widgets = open_widget_page(browser, base + document + ".html")
    assert widgets and all(w["started"] for w in widgets), widgets
    index = next(i for i, w in enumerate(widgets) if "samples" in w["modes"])
    assert widgets[index]["model"] == WIDGET_PAGES[document]
    drawn = browser.execute_async_script(NEW_SAMPLES_PIXELS, index)
    assert drawn["seed"] == 2  # the button drew a new batch
    generator = load_generator(pretrained_path(WIDGET_PAGES[document]))
    nz, categories = drawn["nz"], drawn["categories"]
    assert categories == generator.categories  # 12 on chapter 9's page, 10 on the intro
    z = torch.tensor(drawn["z"], dtype=torch.float32).view(drawn["count"], nz + categories)
    noise, code = z[:, :nz], z[:, nz:]
    assert abs(noise.mean().item()) < 0.1 and abs(noise.std().item() - 1) < 0.1  # N(0, I)
    if categories:  # one-hot codes, several categories among the samples
        assert torch.equal(code.sum(1), torch.ones(len(z))) and ((code == 0) | (code == 1)).all()
        assert len(set(code.argmax(1).tolist())) >= 5
    with torch.no_grad():
        expected = to_uint8(generator(z)).expand(-1, 3, -1, -1).permute(0, 2, 3, 1)
    canvas = np.array(drawn["pixels"], dtype=np.int16).reshape(expected.shape)
    difference = np.abs(canvas - expected.numpy().astype(np.int16))
    assert difference.max() <= 1, f"canvas and torch differ by up to {difference.max()} levels"
    browser.execute_script("window.dcganWidgets[arguments[0]].root.scrollIntoView()", index)
    browser.save_screenshot(str(SCREENSHOTS / f"widget_{document.replace('/', '_')}.png"))
    assert failures == [] or all(f.endswith(" /favicon.ico") for f in failures), failures


def test_the_walk_slider_and_the_arithmetic_draw(server, browser):
    base, _ = server
    widgets = open_widget_page(browser, base + "chapters/09_latent_space.html")
    shapes = next(i for i, w in enumerate(widgets) if w["model"] == "shapes-32-code")
    assert {"samples", "walk", "arithmetic"} <= set(widgets[shapes]["modes"])
    moved = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1], widget = window.dcganWidgets[arguments[0]];
        const root = widget.root, slider = root.querySelector("input[type=range]");
        const current = root.querySelectorAll(".dcgan-widget-panel")[1].querySelectorAll("canvas")[1];
        const snapshot = () => current.toDataURL();
        const lit = canvas => canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height)
          .data.some((value, i) => i % 4 !== 3 && value > 60);
        const before = snapshot();
        slider.value = 0; slider.dispatchEvent(new Event("input"));
        widget.walking.then(() => done({changed: snapshot() !== before,
                                         walk: lit(widget.canvases.walk),
                                         arithmetic: lit(widget.canvases.arithmetic),
                                         width: widget.canvases.arithmetic.width}));
        """,
        shapes,
    )
    assert moved == {"changed": True, "walk": True, "arithmetic": True, "width": 4 * 32 * 2}
    for panel in (1, 2):  # the walk and the arithmetic, as a reader sees them
        browser.execute_script(
            "window.dcganWidgets[arguments[0]].root"
            ".querySelectorAll('.dcgan-widget-panel')[arguments[1]].scrollIntoView()",
            shapes,
            panel,
        )
        browser.save_screenshot(str(SCREENSHOTS / f"widget_shapes_panel{panel}.png"))


def test_without_webassembly_the_widget_says_so_and_the_figures_stay(server, browser):
    base, _ = server
    hidden = browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": "delete window.WebAssembly;"}
    )
    try:
        widgets = open_widget_page(browser, base + "chapters/09_latent_space.html")
        figures = browser.execute_script("return document.querySelectorAll('img').length")
    finally:
        browser.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": hidden["identifier"]}
        )
    assert widgets and not any(w["started"] for w in widgets)
    assert all("WebAssembly switched off" in w["message"] for w in widgets)
    assert figures > 5


def test_from_a_file_the_widget_says_to_serve_the_folder(browser):
    widgets = open_widget_page(browser, (HTML / "chapters" / "09_latent_space.html").as_uri())
    assert widgets and all("python -m http.server" in w["message"] for w in widgets)


def test_the_widget_files_are_small_and_local(server):
    folder = HTML / "_static" / "dcgan-widget"
    total = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    assert total < 25e6, f"the widget's model and runtime files take {total / 1e6:.1f} MB"
    assert sorted(path.name for path in (folder / "models").glob("*.onnx")) == [
        "mnist5k-32-code.onnx", "shapes-32-code.onnx"]  # fmt: skip

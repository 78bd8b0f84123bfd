"""The built book in a real browser, with no network: headless Chromium via selenium.

The book in _build/html is served from 127.0.0.1; Chromium resolves every
other host name to nothing, and the DevTools performance log records each
request, so any attempt to load from a remote host shows up. On every page:
maths typeset (no raw TeX, no MathJax error), no remote or failed request, no
console error, content painted at once, Chinese marked zh-Hans (and drawn
with a Simplified Chinese font when one is installed), solution
dropdowns closed until clicked, each animation's controls drawn and stepping
frames, the Colab button opening the page's Colab edition, and at phone width
(390 px) nothing cut off. Screenshots go to tests/screenshots/ (not in git).

Run after a build: `make test-build test-browser`. Without Chromium these tests
skip and say how to install it.
"""
import functools
import http.server
import json
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build" / "html"
SHOTS = ROOT / "tests" / "screenshots"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
COLAB = (f"{CONFIG['launch_buttons']['colab_url'].rstrip('/')}/github/"
         f"{CONFIG['repository']['url'].split('github.com/', 1)[1].rstrip('/')}/blob/"
         f"{CONFIG['repository']['branch']}/colab/")
HOW_TO_ENABLE = ("browser tests need Chromium, its driver and selenium: "
                 "`apt-get install chromium chromium-driver` (Debian/Ubuntu; .ci/run does this "
                 "when run as root) and `pip install -r requirements.txt`")
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--window-size=1280,900",
    # every host but the local server resolves to nothing
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
PAINT_BUDGET_MS = 5000
PHONE_WIDTH = 390


def book_pages():
    """Every page of the book: the toc's files, then Sphinx's index and search pages."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [entry["file"] for entry in part.get("chapters", [])]
    return [f"{file}.html" for file in files] + ["genindex.html", "search.html", "py-modindex.html"]


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="session")
def server():
    if not (BUILD / "index.html").exists():
        pytest.fail("no built book in _build/html: run `make test-build` first")
    failures = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send_error(self, code, message=None, explain=None):
            failures.append(f"{code} {self.path}")
            super().send_error(code, message, explain)

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(BUILD)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.url, httpd.failures = f"http://127.0.0.1:{httpd.server_address[1]}", failures
    yield httpd
    httpd.shutdown()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    try:
        from selenium import webdriver
    except ImportError:
        pytest.skip(HOW_TO_ENABLE)
    chromium = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))),
                    None)
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip(HOW_TO_ENABLE)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    driver.get("about:blank")
    SHOTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()


# ------------------------------------------------------------------ helpers
WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
if (!document.querySelector('script[src*="mathjax"]')) { done('no maths'); return; }
const start = Date.now();
const poll = () => (window.MathJax && MathJax.startup && MathJax.startup.promise)
  ? MathJax.startup.promise.then(() => done('typeset'), e => done('error: ' + e))
  : Date.now() - start > 15000 ? done('not loaded within 15 s') : setTimeout(poll, 50);
poll();
"""

PAGE_FACTS = """
const skip = 'pre, code, script, style, textarea, mjx-container, .highlight';
const texts = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const node = walker.currentNode;
  if (!node.parentElement.closest(skip)) texts.push(node);
}
const cjk = /[\\u3400-\\u4dbf\\u4e00-\\u9fff]/;
const unmarked = texts.filter(n => cjk.test(n.data))
  .filter(n => (n.parentElement.closest('[lang]') || {}).lang !== 'zh-Hans')
  .map(n => n.data.trim()).slice(0, 5);
const headings = [...document.querySelectorAll('h1')];
const colab = [...document.querySelectorAll('a[href*="colab.research.google.com"]')]
  .map(a => a.getAttribute('href'));
return {
  text: texts.map(n => n.data).join(' '),
  maths: document.querySelectorAll('span.math, div.math').length,
  untypeset: [...document.querySelectorAll('span.math, div.math')]
    .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60)).slice(0, 3),
  mathErrors: document.querySelectorAll('mjx-merror').length,
  unmarked: unmarked,
  headingShown: headings.some(h => h.getBoundingClientRect().height > 0
    && getComputedStyle(h).visibility !== 'hidden'),
  colab: colab,
  bibliographyLabels: [...document.querySelectorAll('.citation .label')].map(l => l.textContent),
};
"""

WAIT_FOR_FIRST_PAINT = """
const done = arguments[arguments.length - 1];
setTimeout(() => done(null), 10000);
new PerformanceObserver((list, observer) => {
  const paint = list.getEntriesByName('first-contentful-paint')[0];
  if (paint) { observer.disconnect(); done(paint.startTime); }
}).observe({type: 'paint', buffered: true});
"""

AUTHOR_YEAR = re.compile(r"^\[?[^\d\[\]]+, \d{4}[a-z]?\]?$")
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{")


def shown(driver, element):
    return driver.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return r.width > 0 && r.height > 0 && getComputedStyle(arguments[0]).visibility !== 'hidden';",
        element)


def network_problems(driver, server):
    """Remote or failed requests since the last call, from the DevTools log and the server."""
    problems, urls = [], {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            url = params["request"]["url"]
            urls[params["requestId"]] = url
            if re.match(r"(https?|wss?|ftp)://", url) and not url.startswith(server.url):
                problems.append(f"remote request {url}")
        elif message["method"] == "Network.loadingFailed" and not params.get("canceled"):
            problems.append(f"failed request {urls.get(params['requestId'], '?')}: "
                            f"{params.get('errorText')}")
        elif message["method"] == "Network.responseReceived" and params["response"]["status"] >= 400:
            problems.append(f"HTTP {params['response']['status']} for {params['response']['url']}")
    problems += [f"server answered {failure}" for failure in server.failures]
    server.failures.clear()
    return problems


def open_page(driver, server, page):
    driver.get_log("performance"), driver.get_log("browser")  # start with empty logs
    server.failures.clear()
    driver.get(f"{server.url}/{page}")
    return driver.execute_async_script(WAIT_FOR_MATHJAX)


def installed_chinese_fonts():
    """Font families with Simplified Chinese glyphs that fontconfig knows (empty without fc-list)."""
    if not shutil.which("fc-list"):
        return []
    listing = subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True,
                             text=True, check=False).stdout
    return sorted({name for line in listing.splitlines() for name in line.split(",")})


def chinese_font_problems(driver):
    """The first Chinese run must be drawn with a Simplified Chinese font, not a Japanese one."""
    if not installed_chinese_fonts():
        return []  # nothing to choose from: the lang mark is checked, the glyphs cannot be
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    root = driver.execute_cdp_cmd("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = driver.execute_cdp_cmd("DOM.querySelector",
                                  {"nodeId": root, "selector": '[lang="zh-Hans"]'})["nodeId"]
    if not node:
        return []
    fonts = [font["familyName"] for font in
             driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]]
    if not any(re.search(r"\b(SC|CN|GB|Hans)\b|YaHei|WenQuanYi", name) for name in fonts):
        return [f"Chinese drawn with {fonts}, not a Simplified Chinese font"]
    return []


def dropdown_problems(driver):
    from selenium.webdriver.common.by import By
    problems = []
    for number, dropdown in enumerate(driver.find_elements(By.CSS_SELECTOR, ".solution.dropdown")):
        body = [child for child in dropdown.find_elements(By.XPATH, "./*")
                if "admonition-title" not in (child.get_attribute("class") or "")]
        if any(shown(driver, child) for child in body):
            problems.append(f"solution {number} is open before a click")
        title = dropdown.find_element(By.CSS_SELECTOR, ".admonition-title")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", title)
        title.click()
        if not any(shown(driver, child) for child in body):
            problems.append(f"solution {number} does not open on click")
    return problems


def animation_problems(driver):
    from selenium.webdriver.common.by import By
    problems = []
    for number, animation in enumerate(driver.find_elements(By.CSS_SELECTOR, ".animation")):
        buttons = animation.find_elements(By.CSS_SELECTOR, ".anim-buttons button")
        titles = [button.get_attribute("title") for button in buttons]
        if len(buttons) != 9 or not all(shown(driver, button) for button in buttons):
            problems.append(f"animation {number}: controls missing or hidden: {titles}")
            continue
        icons = [driver.execute_script(
            "const i = arguments[0].querySelector('svg, i');"
            "return i ? i.getBoundingClientRect().width : 0;", button) for button in buttons]
        if min(icons) <= 0:
            problems.append(f"animation {number}: button icons not drawn: {icons}")
        slider = animation.find_element(By.CSS_SELECTOR, ".anim-slider")
        image = animation.find_element(By.CSS_SELECTOR, "img")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", animation)
        buttons[titles.index("Pause")].click()
        buttons[titles.index("First frame")].click()
        before = (slider.get_attribute("value"), image.get_attribute("src"))
        buttons[titles.index("Next frame")].click()
        after = (slider.get_attribute("value"), image.get_attribute("src"))
        if after[0] != str(int(before[0]) + 1) or after[1] == before[1]:
            problems.append(f"animation {number}: Next frame does not step "
                            f"(frame {before[0]} -> {after[0]})")
    return problems


PHONE_FACTS = """
const width = window.innerWidth;
const out = (e, right) => e.getBoundingClientRect().right > right + 1;
// a table may be wider than the screen only inside a box that scrolls sideways
const scrolls = e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
const tables = [...document.querySelectorAll('article table')]
  .filter(t => out(t, width) || t.scrollWidth > t.clientWidth + 1)
  .filter(t => !(t.parentElement && scrolls(t.parentElement)
                 && t.parentElement.getBoundingClientRect().right <= width + 1))
  .map(t => (t.querySelector('th, td') || t).textContent.trim().slice(0, 30));
const buttons = [...document.querySelectorAll('.animation')].flatMap(a => {
  const box = a.closest('.cell_output') || a.parentElement;
  const right = Math.min(width, box.getBoundingClientRect().right);
  return [...a.querySelectorAll('button, img')].filter(b => out(b, right))
    .map(b => b.getAttribute('title') || b.tagName);
});
return {pageWidth: document.documentElement.scrollWidth, width: width,
        tables: tables, clipped: buttons};
"""


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize("page", book_pages())
def test_page_renders_offline(browser, server, page):
    assert (BUILD / page).exists(), f"{page} was not built"
    mathjax = open_page(browser, server, page)
    facts = browser.execute_script(PAGE_FACTS)
    facts["paint"] = browser.execute_async_script(WAIT_FOR_FIRST_PAINT)
    problems = network_problems(browser, server)
    problems += [f"console: {entry['message'][:200]}" for entry in browser.get_log("browser")
                 if entry["level"] == "SEVERE"]
    if mathjax.startswith("error"):
        problems.append(f"MathJax {mathjax}")
    if facts["maths"] and mathjax != "typeset":
        problems.append(f"{facts['maths']} formulas but MathJax did not run ({mathjax})")
    if facts["untypeset"] or facts["mathErrors"]:
        problems.append(f"formulas not typeset: {facts['untypeset']}, {facts['mathErrors']} TeX errors")
    raw = RAW_TEX.search(facts["text"])
    if raw:
        problems.append(f"raw TeX in the text: ...{facts['text'][max(0, raw.start() - 40):raw.end() + 40]}...")
    if facts["unmarked"]:
        problems.append(f"Chinese without lang=zh-Hans: {facts['unmarked']}")
    problems += chinese_font_problems(browser)
    if facts["paint"] is None or facts["paint"] > PAINT_BUDGET_MS or not facts["headingShown"]:
        problems.append(f"content not shown at once (first paint {facts['paint']} ms)")
    chapter = Path(page).stem
    if re.match(r"\d\d_", chapter):
        expected = COLAB + f"{chapter}.ipynb"
        if facts["colab"] != [expected]:
            problems.append(f"Colab links {facts['colab']}, expected [{expected}]")
        if not (ROOT / "colab" / f"{chapter}.ipynb").exists():
            problems.append(f"no Colab edition colab/{chapter}.ipynb")
    else:
        problems += [f"Colab link on a page without a notebook: {url}" for url in facts["colab"]]
    # labels read like the citations in the text ("Kingma and Ba, 2015"), not [1]
    problems += [f"bibliography label {label!r} is not 'Author, Year'"
                 for label in facts["bibliographyLabels"] if not AUTHOR_YEAR.match(label)]
    problems += dropdown_problems(browser)
    problems += animation_problems(browser)
    problems += [f"after clicking: {problem}" for problem in network_problems(browser, server)]
    problems += [f"console after clicking: {entry['message'][:200]}"
                 for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    browser.save_screenshot(str(SHOTS / f"{page.replace('/', '_')}.png"))
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("page", book_pages())
def test_page_fits_a_phone(browser, server, page):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": PHONE_WIDTH, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    try:
        open_page(browser, server, page)
        facts = browser.execute_script(PHONE_FACTS)
        browser.save_screenshot(str(SHOTS / f"{page.replace('/', '_')}-phone.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    problems = []
    if facts["pageWidth"] > facts["width"] + 1:
        problems.append(f"page is {facts['pageWidth']} px wide on a {facts['width']} px screen")
    if facts["tables"]:
        problems.append(f"tables cut off: {facts['tables']}")
    if facts["clipped"]:
        problems.append(f"animation controls clipped: {facts['clipped']}")
    assert not problems, f"{page} at {PHONE_WIDTH} px:\n  " + "\n  ".join(problems)

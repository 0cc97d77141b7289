"""The HTML page in a real headless Chromium: the outcome table, being the scheduler by clicks,
undo, a challenge link, predict-then-reveal, and no network request.

One browser for the whole module; the tests skip where Chromium, its driver or selenium is absent
(.ci/run installs Debian's chromium and chromium-driver).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from schedsim.reports import html_report
from schedsim.analyses.analysis import analyse
from schedsim.cli import load_program
from schedsim.engine.explorer import explore
from schedsim.analyses.findings import find
from schedsim.reports.report import build_report

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs chromium and chromedriver")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "1"   # never let Selenium Manager download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def counter_page(tmp_path_factory):
    """scenarios/counter.yaml as a page on disk, and its report."""
    exploration = explore(load_program(str(ROOT / "scenarios" / "counter.yaml")))
    report = build_report(exploration, analyse(exploration), find(exploration, 100_000))
    path = tmp_path_factory.mktemp("page") / "counter.html"
    path.write_text(html_report.page(exploration, report), encoding="utf-8")
    return path, report


def open_page(browser, path: Path, fragment: str = "") -> None:
    browser.get(path.as_uri() + fragment)
    browser.refresh()   # a fragment-only change would not reload the page


def click_thread(browser, name: str) -> None:
    browser.find_element(By.CSS_SELECTOR, f'#choices button.choose[data-thread="{name}"]').click()


def status_text(browser) -> str:
    return browser.find_element(By.ID, "play-status").text


def test_outcome_table_lists_the_reports_outcomes(browser, counter_page):
    path, report = counter_page
    open_page(browser, path)
    rows = browser.find_elements(By.CSS_SELECTOR, "#outcomes tbody tr")
    assert len(rows) == len(report["outcomes"]) == 2
    assert "VIOLATION" in rows[1].text and "x=1" in rows[1].text and "3/4" in rows[1].text
    assert browser.find_element(By.ID, "verdict").text == "RESULT: 1 outcome can go wrong (violation)."


def test_playing_the_lost_update_by_clicks_reaches_the_outcome_the_report_names(browser, counter_page):
    path, report = counter_page
    open_page(browser, path)
    lost = report["outcomes"][1]
    for name in lost["schedule"]:
        click_thread(browser, name)
    assert status_text(browser).startswith("The run ended. You found outcome 2 (VIOLATION, x=1) in 6 steps; "
                                           "the shortest schedule takes 6.")
    assert browser.find_elements(By.CSS_SELECTOR, "#choices button") == []   # nothing runs after the end
    assert len(browser.find_elements(By.CSS_SELECTOR, "#step-table tbody tr")) == 7   # start + 6 turns


def test_undo_goes_back_one_step(browser, counter_page):
    path, _ = counter_page
    open_page(browser, path)
    click_thread(browser, "A")
    click_thread(browser, "B")
    rows = browser.find_elements(By.CSS_SELECTOR, "#step-table tbody tr")
    assert [row.text.split()[:2] for row in rows[1:]] == [["1", "L12"], ["2", "L16"]]
    browser.find_element(By.ID, "undo").click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#step-table tbody tr")) == 2
    choices = [b.get_attribute("data-thread") for b in browser.find_elements(By.CSS_SELECTOR, "#choices button")]
    assert choices == ["A", "B"]
    assert "L13 a = a + 1" in browser.find_element(By.CSS_SELECTOR, '#choices button[data-thread="A"]').text
    assert "After 1 step" in status_text(browser)


def test_keyboard_picks_threads_and_steps_through_rows(browser, counter_page):
    path, _ = counter_page
    open_page(browser, path)
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("1", "1", "k")
    cursor = browser.find_element(By.CSS_SELECTOR, "#step-table tr.cursor")
    assert cursor.get_attribute("data-step") == "1"
    assert "current" in browser.find_element(By.ID, "src-0-12").get_attribute("class")
    body.send_keys("u")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#step-table tbody tr")) == 2


def test_challenge_link_sets_the_goal_and_says_when_it_is_reached(browser, counter_page):
    path, report = counter_page
    open_page(browser, path, "#goal=2")
    assert "Challenge" in browser.find_element(By.ID, "goal").text
    for name in ["A", "A", "A", "B", "B", "B"]:   # the run that does not lose the update
        click_thread(browser, name)
    assert status_text(browser).startswith("Not the goal")
    for _ in range(4):
        browser.find_element(By.ID, "undo").click()
    for name in ["B", "A", "B", "B"]:   # A,A,B,A,B,B: B reads x before A writes it
        click_thread(browser, name)
    assert status_text(browser).startswith("Goal reached! You found outcome 2")


def test_predict_then_reveal_checks_the_answers(browser, counter_page):
    path, _ = counter_page
    open_page(browser, path)
    inputs = browser.find_elements(By.CSS_SELECTOR, "#predict-table input")
    assert inputs and all(i.get_attribute("value") == "" for i in inputs)   # values hidden
    inputs[0].send_keys(inputs[0].get_attribute("data-answer"))
    browser.find_element(By.ID, "predict-check").click()
    assert browser.find_element(By.ID, "predict-result").text == f"1 of {len(inputs)} right."
    browser.find_element(By.ID, "predict-reveal").click()
    assert browser.find_element(By.ID, "predict-result").text.startswith("The run ends: ")


def test_the_page_makes_no_network_request(browser, counter_page):
    path, _ = counter_page
    open_page(browser, path)
    click_thread(browser, "A")
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources == []
    assert browser.execute_script("return document.querySelector(\"meta[http-equiv='Content-Security-Policy']\")"
                                  ".content").startswith("default-src 'none'")
    assert browser.get_log("browser") == [] or all("Content Security Policy" not in entry["message"]
                                                   for entry in browser.get_log("browser"))


def test_a_page_of_a_big_graph_says_it_holds_only_the_schedules(browser, counter_page, tmp_path, monkeypatch):
    monkeypatch.setattr(html_report, "EMBED_LIMIT", 5)
    exploration = explore(load_program(str(ROOT / "scenarios" / "counter.yaml")))
    report = build_report(exploration, analyse(exploration), find(exploration, 100_000))
    path = tmp_path / "partial.html"
    path.write_text(html_report.page(exploration, report), encoding="utf-8")
    open_page(browser, path)
    assert "Only those states are in this page (a graph of more than 5 states" in browser.find_element(By.ID, "graph-note").text
    for name in report["outcomes"][1]["schedule"]:   # the lost update's own schedule stays on the page
        click_thread(browser, name)
    assert status_text(browser).startswith("The run ended. You found outcome 2")


def test_the_notebook_iframe_runs_the_page(browser, tmp_path):
    exploration = explore(load_program(str(ROOT / "scenarios" / "counter.yaml")))
    report = build_report(exploration, analyse(exploration), find(exploration, 100_000))
    path = tmp_path / "notebook.html"
    path.write_text("<!DOCTYPE html><html><body>" + html_report.notebook_html(exploration, report) + "</body></html>",
                    encoding="utf-8")
    open_page(browser, path)
    browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
    try:
        click_thread(browser, "B")
        assert len(browser.find_elements(By.CSS_SELECTOR, "#outcomes tbody tr")) == 2
        assert "After 1 step" in status_text(browser)
    finally:
        browser.switch_to.default_content()

"""The harness's own promises: the browser stays on this machine, CSP violations are caught."""

import pytest


def test_request_to_another_host_is_blocked_and_recorded(page_for, browser_watch, patient):
    page = page_for(patient)
    page.goto("about:blank")  # no CSP here: the request reaches the network layer
    with page.expect_event("requestfailed") as failed:
        page.evaluate("() => { const img = new Image(); img.src = 'https://tracker.example.com/pixel.png'; }")
    assert failed.value.url == "https://tracker.example.com/pixel.png"
    assert browser_watch.foreign_requests == ["GET https://tracker.example.com/pixel.png"]
    browser_watch.foreign_requests.clear()  # recorded as it should be: let this test pass


def test_inline_script_violates_csp_and_is_recorded(page_for, browser_watch, patient, live_server):
    page = page_for(patient)
    page.goto(f"{live_server.url}/appointments/")
    with page.expect_console_message(lambda message: "Content Security Policy" in message.text):
        page.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.x = 1';"
            " document.body.append(s); }"
        )
    assert len(browser_watch.csp_violations) == 1
    browser_watch.csp_violations.clear()


@pytest.mark.parametrize("url", ["http://localhost:1/", "http://127.0.0.1:1/"])
def test_this_machine_is_not_blocked(page_for, browser_watch, patient, url):
    page = page_for(patient)
    page.goto("about:blank")
    page.evaluate("(url) => fetch(url).catch(() => null)", url)
    assert browser_watch.foreign_requests == []

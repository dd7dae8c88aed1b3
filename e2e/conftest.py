"""
The browser harness: Playwright (pytest-playwright) against pytest-django's live_server.

What every browser test gets, without asking:
- Debian's Chromium (/usr/bin/chromium, or $PLAYWRIGHT_CHROMIUM), headless unless --headed.
- No internet: Jitsi's external_api.js is answered by e2e/jitsi_double.js, and any other
  request to a host that is not this machine is aborted AND fails the test.
- A Content Security Policy violation or an uncaught script error on any page fails the test.
- The `e2e` marker (`-m e2e` runs only these, `-m "not e2e"` everything else).

Fixtures to build journeys from:
- `page_for(user, **context_args)`: a logged-in page in its own browser context (own cookies);
  `log_in(context, user)` for a context you made; `log_in_with_form(page, username)`.
- `jitsi`: `jitsi.calls(page)` (what the page asked JitsiMeetExternalAPI for), `jitsi.emit(page,
  "readyToClose")`, `jitsi.unreachable()`; `jitsi_calls(page)` is `jitsi.calls`.
- `appointment_starting_in(timedelta, **fields)`: real time, relative to now.
- `status_poll_interval` (a 1 s poll), `telemedicine_settings(KEY=value)`, `response_bodies(page)`.
- `assert_accessible(page)`: no serious or critical axe-core violation on the page as it is now.
- Camera and microphone: Chromium's fake devices (a test pattern and a beep), for a context made
  with `permissions=["camera", "microphone"]`; any other context is refused them, as after "Block".
Pages are opened relative to the live server: `page.goto("/appointments/")`.
"""

import os

# The sync Playwright API runs an event loop in the test's thread; Django refuses ORM
# calls from a thread with a running loop unless told that this is deliberate.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings as django_settings
from django.test import Client

E2E_DIR = Path(__file__).resolve().parent
JITSI_DOUBLE = (E2E_DIR / "jitsi_double.js").read_text()
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # root in a container: Chromium's sandbox cannot start
    "--disable-gpu",
    # Chromium phones home on its own (updates, sync, field trials): keep it on this machine.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # The device check (e2e/test_device_check.py): a moving test pattern and a beeping microphone.
    # No --use-fake-ui-for-media-stream: it would say yes to every page. A context made with
    # permissions=["camera", "microphone"] is granted them; any other is refused, as after "Block".
    "--use-fake-device-for-media-stream",
]
# Everything that is not this machine. Matched by Playwright before a request leaves.
NOT_THIS_MACHINE = re.compile(r"^(?!(?:https?|wss?)://(?:localhost|127\.0\.0\.1|\[::1\])(?::\d+)?(?:/|$))[a-z]+://")
# Console text of a CSP violation in Chromium ("Refused to ... because it violates the
# following Content Security Policy directive ...").
CSP_VIOLATION = "Content Security Policy"
# No test waits 30 s for something that should take one.
ACTION_TIMEOUT_MS = 10_000


# --- Collection -------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark every test in e2e/ before `-m` deselects by marker."""
    for item in items:
        if E2E_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """
    Browser tests use a file-backed SQLite test database (when the project uses SQLite).

    With the default in-memory test database, Django hands the live server's request
    threads the test's one connection, and two browsers polling at once would share it
    (Django's docs warn that this fails at random). A file gives each thread its own
    connection, with the WAL journal and busy timeout of project/settings.py: as in
    production. Decided after deselection, so `-m "not e2e"` keeps the fast in-memory one.
    """
    if not any(item.get_closest_marker("e2e") for item in session.items):
        return
    database = django_settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3" or database.get("TEST", {}).get("NAME"):
        return
    folder = tempfile.mkdtemp(prefix="clinic-e2e-db-")
    session.config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    database.setdefault("TEST", {})["NAME"] = str(Path(folder) / "test.sqlite3")


# --- Browser ----------------------------------------------------------------------------


def chromium_executable() -> str | None:
    """$PLAYWRIGHT_CHROMIUM, else Debian's chromium, else None: Playwright's own download."""
    if os.environ.get("PLAYWRIGHT_CHROMIUM"):
        return os.environ["PLAYWRIGHT_CHROMIUM"]
    if DEBIAN_CHROMIUM.exists():
        return str(DEBIAN_CHROMIUM)
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, pytestconfig):
    """pytest-playwright's launch options (--headed, --slowmo...) plus Debian's Chromium."""
    launch = {**browser_type_launch_args, "args": CHROMIUM_ARGS}
    launch["headless"] = not pytestconfig.getoption("--headed")
    executable = chromium_executable()
    if executable:
        launch["executable_path"] = executable
    return launch


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, live_server):
    """Every page speaks to the live server: page.goto("/appointments/") is enough."""
    return {**browser_context_args, "base_url": live_server.url}


@dataclass
class BrowserWatch:
    """What the browser did that a test must not allow: it fails the test at teardown."""

    foreign_requests: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    # False: external_api.js fails to load, as when Jitsi is down or blocked.
    jitsi_reachable: bool = True

    def watch(self, context) -> None:
        context.route(NOT_THIS_MACHINE, self._route)
        context.on("console", self._console)
        context.on("weberror", lambda error: self.script_errors.append(str(error.error)))

    def _route(self, route) -> None:
        from telemedicine.jitsi import external_api_url

        url = route.request.url
        if url == external_api_url():
            if self.jitsi_reachable:
                route.fulfill(status=200, content_type="text/javascript; charset=utf-8", body=JITSI_DOUBLE)
            else:
                route.abort("internetdisconnected")
            return
        self.foreign_requests.append(f"{route.request.method} {url}")
        route.abort("blockedbyclient")

    def _console(self, message) -> None:
        if message.type == "error" and CSP_VIOLATION in message.text:
            self.csp_violations.append(message.text)

    def problems(self) -> list[str]:
        return (
            [f"request left this machine: {each}" for each in self.foreign_requests]
            + [f"CSP violation: {each}" for each in self.csp_violations]
            + [f"uncaught script error: {each}" for each in self.script_errors]
        )


@pytest.fixture
def browser_watch():
    watch = BrowserWatch()
    yield watch
    problems = watch.problems()
    assert not problems, "The browser did something it must not:\n" + "\n".join(problems)


@pytest.fixture
def new_context(new_context, browser_watch, live_server):
    """pytest-playwright's new_context, with every context watched (see BrowserWatch)."""

    def make(**kwargs):
        context = new_context(**kwargs)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        browser_watch.watch(context)
        return context

    return make


# --- People -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Django's real hasher costs ~0.5 s per user here; browser tests make several users each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def log_in(live_server):
    """Put `user`'s session cookie into a browser context: logged in without the form."""

    def log_in(context, user):
        client = Client()
        client.force_login(user)
        session = client.cookies[django_settings.SESSION_COOKIE_NAME]
        context.add_cookies(
            [{"name": session.key, "value": session.value, "url": live_server.url, "httpOnly": True, "sameSite": "Lax"}]
        )
        return context

    return log_in


@pytest.fixture
def page_for(new_context, log_in):
    """A page logged in as `user`, in a browser context of its own (its own cookies)."""

    def page_for(user, **context_args):
        context = new_context(**context_args)
        if user is not None:
            log_in(context, user)
        return context.new_page()

    return page_for


@pytest.fixture
def log_in_with_form(live_server):
    """Log in the way a person does: the login form, username and password."""
    from conftest import PASSWORD  # the root conftest: every test user's password

    def log_in_with_form(page, username, password=PASSWORD):
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()

    return log_in_with_form


# --- The app ----------------------------------------------------------------------------


@pytest.fixture
def status_poll_interval(settings):
    """Status cards poll every second (the live server runs in this process, so it sees it)."""
    settings.TELEMEDICINE_SETTINGS = {**settings.TELEMEDICINE_SETTINGS, "STATUS_POLL_INTERVAL": 1}
    return 1


@pytest.fixture
def telemedicine_settings(settings):
    """Change TELEMEDICINE_SETTINGS keys for one test: telemedicine_settings(CALL_WINDOW_AFTER=5)."""

    def change(**values):
        settings.TELEMEDICINE_SETTINGS = {**settings.TELEMEDICINE_SETTINGS, **values}

    return change


@dataclass
class JitsiDouble:
    """The stand-in for Jitsi's External API, and what pages asked it for."""

    watch: BrowserWatch

    def unreachable(self) -> None:
        """From now on external_api.js fails to load, as when Jitsi is down or blocked."""
        self.watch.jitsi_reachable = False

    @staticmethod
    def calls(page) -> list[dict]:
        """Each `new JitsiMeetExternalAPI(domain, options)`: {domain, options, parentNodeId}."""
        return page.evaluate("window.__jitsiCalls || []")

    @staticmethod
    def commands(page) -> list[dict]:
        """Each api.executeCommand(name, ...args) as {name, args}."""
        return page.evaluate("window.__jitsiCommands || []")

    @staticmethod
    def emit(page, event: str, data: dict | None = None) -> int:
        """Play Jitsi's part: fire `event` (videoConferenceJoined, readyToClose...) at the page."""
        return page.evaluate("([name, data]) => window.__jitsiEmit(name, data)", [event, data or {}])


@pytest.fixture
def jitsi(browser_watch):
    return JitsiDouble(browser_watch)


@pytest.fixture
def jitsi_calls(jitsi):
    """jitsi_calls(page): the recorded JitsiMeetExternalAPI constructor calls (for mode tests)."""
    return jitsi.calls


@pytest.fixture
def response_bodies():
    """response_bodies(page): a list that fills with (url, status, body text) of every response."""

    def record(page):
        seen = []

        def on_response(response):
            try:
                body = response.body().decode("utf-8", "replace")
            except Exception:  # redirects and aborted requests have no body
                body = ""
            seen.append((response.url, response.status, body))

        page.on("response", on_response)
        return seen

    return record


@pytest.fixture
def appointment_starting_in(make_appointment):
    """appointment_starting_in(timedelta(minutes=5), is_telemedicine=True): relative to the real now."""
    from django.utils import timezone

    def make(delta, **fields):
        return make_appointment(starts_at=timezone.now() + delta, **fields)

    return make


# --- Accessibility ------------------------------------------------------------------------

BLOCKING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="session")
def axe():
    return Axe()


@pytest.fixture
def assert_accessible(axe):
    """No serious or critical axe-core violation on the page as it is now."""

    def check(page):
        # Jitsi's iframe is Jitsi's business (and our double's is blank): test our page.
        results = axe.run(page, options={"resultTypes": ["violations"], "iframes": False})
        blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]
        assert not blocking, f"{page.url}\n" + "\n".join(
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in blocking
        )

    return check

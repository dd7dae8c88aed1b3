"""gunicorn's access log (`GUNICORN_ACCESS_LOG`) carries no token: no sign-in, guest or password-reset link."""

import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

CONF = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"


@pytest.fixture(scope="module")
def conf():
    return runpy.run_path(str(CONF))


@pytest.mark.parametrize(
    ("path", "query", "logged"),
    [
        ("/telemedicine/sign-in/7e1c/", "t=AAAAsecret", "/telemedicine/sign-in/7e1c/"),
        ("/telemedicine/guest/4/open/", "k=secret-link", "/telemedicine/guest/4/open/"),
        ("/password/reset/Mw/cz9xyz-0123abcd/", "", "/password/reset/[token]/"),
        ("/appointments/", "page=2", "/appointments/"),
    ],
)
def test_an_access_line_names_the_path_without_its_secrets(conf, path, query, logged):
    from gunicorn.config import Config

    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", conf["access_log_format"])
    logger = conf["logger_class"](config)
    request = SimpleNamespace(headers=[])
    response = SimpleNamespace(status="200 OK", sent=12, headers=[])
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"{path}?{query}",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.1",
        "HTTP_REFERER": f"https://clinic.example{path}?{query}",
    }
    line = conf["access_log_format"] % logger.atoms(response, request, environ, timedelta(milliseconds=10))
    assert f'"GET {logged} HTTP/1.1" 200' in line
    assert "secret" not in line
    assert "cz9xyz" not in line

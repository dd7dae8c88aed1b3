import pytest

from telemedicine.status import wait_text


@pytest.mark.parametrize(
    "seconds,text",
    [
        (0, "less than a minute"),
        (59, "less than a minute"),
        (60, "1 min"),
        (61, "2 min"),  # rounded up: never promise less time than is left
        (7 * 60, "7 min"),
        (60 * 60, "1 h"),
        (65 * 60, "1 h 5 min"),
        (24 * 3600, "1 day"),
        (3 * 24 * 3600 + 5, "3 days"),
    ],
)
def test_wait_text(seconds, text):
    assert wait_text(seconds) == text

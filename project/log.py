"""
What the logs may say: ids and decisions, never a secret or a person's data.

The app's own log lines hold ids only (see telemedicine/audit.py). A server error's
record also carries the exception's message and traceback, which can quote anything a
library put into it: a database's "Key (username)=(…)" detail, a room name in a failed
UPDATE, a token. RedactingFormatter formats the record (message and traceback) and
then blanks every known kind of secret, so what reaches stderr stays fit for a shared
log system.
"""

import logging
import re

REDACTIONS = [
    # Jitsi room names (Appointment.get_jitsi_room_name): whoever knows one can join.
    (re.compile(r"\bclinic-[0-9a-f]{32}\b"), "clinic-[room]"),
    # JSON Web Tokens (Jitsi room tokens): header.payload.signature, base64url.
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "[token]"),
    # One-tap sign-in links (django-sesame's token, named "t" here: SESAME_TOKEN_NAME; "sesame" is its
    # default) and guests' links (?k=<token>): whoever holds one is let in.
    (re.compile(r"([?&](?:t|k|sesame)=)[^&\s'\"]+"), r"\1[token]"),
    # Password-reset links: /password/reset/<uid>/<token>/.
    (re.compile(r"(/password/reset/)[^/\s]+/[^/\s]+/"), r"\1[token]/"),
    # PostgreSQL's and SQLite's constraint details quote the offending values.
    (re.compile(r"(Key \([^)]*\)=\()[^)]*(\))"), r"\1…\2"),
]


def redact(text: str) -> str:
    for pattern, replacement in REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """logging.Formatter whose whole output, traceback included, goes through redact()."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

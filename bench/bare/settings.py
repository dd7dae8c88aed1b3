"""
The bare Django app `make bench` measures the clinic against (issue 15): one view that
returns "hello", no middleware, no apps, no database, served by the same gunicorn
configuration (project/gunicorn.conf.py) in the same run. Nothing here is the clinic's.
"""

import os
import secrets

DEBUG = False
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.bare.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict = {}
USE_TZ = True

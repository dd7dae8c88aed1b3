"""gunicorn's entry point for the bare app: `gunicorn -c project/gunicorn.conf.py bench.bare.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

# Whatever the environment says: this process serves the bare app only.
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.bare.settings"
application = get_wsgi_application()

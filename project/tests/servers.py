"""
The real servers tests start, stop and restart: Debian's redis-server, a throwaway
PostgreSQL (ops/local_postgres.sh) and the app itself under gunicorn with production
settings (DEBUG off, whitenoise's compressed static files, project/gunicorn.conf.py),
on loopback ports of their own. The `redis_server` fixture (conftest.py) wraps the first.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import redis

BASE_DIR = Path(__file__).resolve().parent.parent.parent
LOCAL_POSTGRES = BASE_DIR / "ops" / "local_postgres.sh"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {seconds} s")
        time.sleep(0.02)


class RedisServer:
    """
    redis-server on 127.0.0.1, its files in `folder`. `persistent`: an append-only file
    written at every command (appendonly yes, appendfsync always), so what it holds
    survives stop() and start(), as docs/deploying.md asks of production.
    """

    def __init__(self, folder: Path, *, persistent: bool = False):
        binary = shutil.which("redis-server")
        assert binary, "These tests need Debian's redis-server: `make test` installs it (apt-get install redis-server)."
        self.binary = binary
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.persistent = persistent
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--save",
                "",
                *persistence,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, "redis-server answering PING", 10)

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it: Redis closes every connection and, if persistent, syncs its file."""
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)  # in case it hangs
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def hang(self) -> None:
        """SIGSTOP: the server keeps its connections open and answers nothing (resume() ends it)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


class PostgresServer:
    """
    A throwaway cluster from ops/local_postgres.sh, on a port of its own; halt() and
    resume() keep its data, remove() deletes it. Its folder is a new one under the system's
    temporary folder: as root the cluster belongs to the `postgres` user, who could not
    reach into pytest's private temporary folders.
    """

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="clinic-outage-pg."))
        self.url = ""

    def _script(self, command: str, **env: str) -> str:
        result = subprocess.run(
            [str(LOCAL_POSTGRES), command, str(self.folder)],
            capture_output=True,
            text=True,
            timeout=300,
            env=os.environ | env,
        )
        assert result.returncode == 0, f"ops/local_postgres.sh {command}: {result.stderr[-500:]}"
        return result.stdout.strip()

    def start(self) -> str:
        self.url = self._script("start", PG_FAST="1", PGPORT=str(free_port()))
        return self.url

    def halt(self) -> None:
        self._script("halt")

    def resume(self) -> None:
        self._script("resume")

    def remove(self) -> None:
        self._script("stop")


class ProductionServer:
    """
    The app under gunicorn with production settings on http://127.0.0.1:<port>, on the
    database and Redis the environment given names. `manage()` runs a management command
    (or `shell -c` code) with the same environment.
    """

    def __init__(self, environment: dict[str, str], *, workers: int = 1):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        # Nothing from the caller's own environment decides how the app runs, only `environment`.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE", "REDIS"))}
        self.env = (
            inherited
            | {
                "DJANGO_SETTINGS_MODULE": "project.settings",
                "DJANGO_DEBUG": "0",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                # Plain http on loopback, as `make serve`.
                "DJANGO_SECURE_SSL_REDIRECT": "0",
                "DJANGO_SECURE_COOKIES": "0",
                "DJANGO_HSTS_SECONDS": "0",
                "DJANGO_LOG_LEVEL": "WARNING",
                "WEB_CONCURRENCY": str(workers),
                "GUNICORN_LOG_LEVEL": "warning",
            }
            | environment
        )
        self.process: subprocess.Popen | None = None

    def manage(self, *arguments: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"manage.py {arguments[0]}: {result.stderr[-2000:]}"
        return result.stdout

    def shell(self, code: str):
        """Run `code` in `manage.py shell`; it prints one line of JSON, returned decoded."""
        return json.loads(self.manage("shell", "--no-imports", "-c", code).strip().splitlines()[-1])

    def prepare(self) -> None:
        """collectstatic (whitenoise's manifest, which DEBUG off needs) and migrate."""
        self.manage("collectstatic", "--noinput", "-v0")
        self.manage("migrate", "--noinput", "-v0")

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2):
                return True
        except OSError:
            return False

    def start(self, log_file=None) -> None:
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--config",
                "project/gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{self.port}",
            ],
            cwd=BASE_DIR,
            env=self.env,
            stderr=log_file,
        )

        def up() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError("gunicorn exited while starting")
            return self.answers()

        wait_for(up, "the production-like server answering /healthz", 60)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

"""
`manage.py run_worker`: the clinic's background worker.

django-tasks-db's worker (`db_worker`: it runs the tasks the web processes enqueue, such
as sending an email), plus the clinic's minute: APScheduler calls
appointments.notifications.sweep() every minute (reminders due, crashed sends handed
back, waiting sends enqueued) and prunes finished task records daily.

Run as many as you like, on as many machines: tasks are claimed by one worker each, and
the sweep is safe to run concurrently (every step is a conditional write or guarded by a
unique constraint), so several schedulers only repeat harmless work. `--batch` runs one
sweep, then every task that is ready, and exits (tests, or a cron-driven set-up).
"""

import logging
import os
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from django.core.management import call_command
from django.db import close_old_connections
from django.utils import timezone
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from appointments import notifications

logger = logging.getLogger("appointments")

SWEEP_SECONDS = 60
# Finished task records are kept this long (for looking into a problem), then pruned.
TASK_RESULTS_KEPT = timedelta(days=7)


def run_sweep() -> None:
    close_old_connections()
    try:
        counts = notifications.sweep(timezone.now())
    except Exception:
        logger.exception("the notification sweep failed; the next minute tries again")
    else:
        if any(counts.values()):
            logger.info("sweep %s", " ".join(f"{name}={count}" for name, count in counts.items()))
    finally:
        close_old_connections()


def prune_task_results() -> None:
    close_old_connections()
    try:
        call_command("prune_db_task_results", min_age_days=TASK_RESULTS_KEPT.days, verbosity=0)
    except Exception:
        logger.exception("pruning finished task records failed")
    finally:
        close_old_connections()


class Command(DatabaseWorkerCommand):
    help = "Run the clinic's background worker: tasks (emails) and the minute's sweep (reminders, retries)."

    def handle(self, *args, **options):
        reloading_parent = (
            options["reload"] and not options["batch"] and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true"
        )
        if options["batch"]:
            run_sweep()
        elif not reloading_parent:
            # With --reload, the parent process only restarts its child: the child schedules.
            scheduler = BackgroundScheduler(timezone="UTC")
            scheduler.add_job(
                run_sweep,
                "interval",
                seconds=SWEEP_SECONDS,
                next_run_time=timezone.now(),
                id="sweep",
                max_instances=1,
                coalesce=True,
            )
            scheduler.add_job(prune_task_results, "interval", days=1, id="prune", max_instances=1, coalesce=True)
            scheduler.start()
        return super().handle(*args, **options)

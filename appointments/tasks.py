"""
Background work, on the Django Tasks API (django-tasks, the backport of Django 6.0's
django.tasks) with its database backend: no new server to run, and the RQ or Celery
backends take over by a change of settings when one worker is not enough.
`manage.py run_worker` runs them (docs/notifications.md).
"""

from django_tasks import task

from . import notifications


@task()
def send_notification(notification_id: int) -> str:
    """Send one email of the outbox, if it is still owed (appointments.notifications.deliver)."""
    return notifications.deliver(notification_id)


@task()
def sweep() -> dict[str, int]:
    """Reminders due, crashed sends handed back, waiting sends enqueued: run every minute."""
    return notifications.sweep()

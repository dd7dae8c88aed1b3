import logging
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from telemedicine.models import AccessEvent

logger = logging.getLogger("telemedicine")


def retention_cutoff(now):
    """Events created before this instant are past AUDIT_RETENTION_DAYS and may go."""
    days = getattr(settings, "AUDIT_RETENTION_DAYS", 3650)
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise CommandError(f"AUDIT_RETENTION_DAYS must be a whole number of days, at least 1; got {days!r}.")
    return now - timedelta(days=days)


class Command(BaseCommand):
    help = (
        "Delete access events older than AUDIT_RETENTION_DAYS. The audit trail's only "
        "deletion path: run it daily (cron, systemd timer)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")

    def handle(self, *args, dry_run=False, **options):
        cutoff = retention_cutoff(timezone.now())
        if dry_run:
            count = AccessEvent.objects.filter(created_at__lt=cutoff).count()
            self.stdout.write(f"{count} access events older than {cutoff:%Y-%m-%d %H:%M:%S %Z} would be deleted.")
            return
        deleted = AccessEvent.objects.prune(older_than=cutoff)
        logger.info("access events pruned count=%s older_than=%s", deleted, cutoff.isoformat())
        self.stdout.write(f"Deleted {deleted} access events older than {cutoff:%Y-%m-%d %H:%M:%S %Z}.")

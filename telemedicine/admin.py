import csv

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from appointments.admin import ReadOnlyModelAdmin
from appointments.clinic_time import format_moment
from appointments.roles import display_name
from appointments.rules import may_open_staff_view
from project.errors import Refused

from .models import AccessEvent, Guest


def audit_trail_refused() -> Refused:
    return Refused(
        "The audit trail is for the clinic's administrators",
        "Your account cannot read it. If your work needs it, ask the clinic's administrator for the "
        "“Can view access event” permission.",
    )


CSV_COLUMNS = [
    "created_at", "user_id", "username", "guest_id", "guest_name", "appointment_id", "action", "reason",
    "detail", "ip_address", "user_agent",
]  # fmt: skip

# CSV injection (OWASP): a spreadsheet runs a cell that starts with one of FORMULA_STARTS
# as a formula. A user agent is whatever the client sent, and a spreadsheet that splits
# lines on ; (or tabs, or commas, or reads a newline as a new row) makes a new cell of
# whatever follows a separator: "Mozilla/5.0;=1+1;=cmd|' /C calc'!A0" is three cells
# there. So every place where a cell could start, the start of the value and each place
# right after a separator, gets a ' before a formula character (spaces and quotes in
# between do not save it); and every cell is quoted, so a reader that honours quotes
# keeps the value whole.
FORMULA_STARTS = frozenset("=+-@\t\r")
SEPARATORS = frozenset(",;\t\r\n")
# What may stand between a cell's start and its first character without saving it.
LEADING = ' "'


def spreadsheet_safe(value) -> str:
    """The cell's text, with a ' wherever a piece of it would start as a formula."""
    text = "" if value is None else str(value)
    safe = []
    cell_starts = True  # at the start of the value, or right after a separator
    for index, char in enumerate(text):
        if cell_starts:
            rest = text[index:].lstrip(LEADING)
            if rest[:1] in FORMULA_STARTS:
                safe.append("'")
            cell_starts = False
        safe.append(char)
        cell_starts = char in SEPARATORS
    return "".join(safe)


class Echo:
    """A file-like object that hands back what csv.writer writes, for streaming."""

    def write(self, value):
        return value


def csv_rows(events):
    writer = csv.writer(Echo(), quoting=csv.QUOTE_ALL)
    yield writer.writerow(CSV_COLUMNS)
    for event in events.iterator(chunk_size=2000):
        yield writer.writerow(
            spreadsheet_safe(value)
            for value in [
                event.created_at.isoformat(),
                event.user_id,
                event.user.get_username() if event.user else "",
                event.guest_id,
                event.guest.name if event.guest_id and event.guest else "",
                event.appointment_id,
                event.action,
                event.reason,
                event.detail,
                event.ip_address,
                event.user_agent,
            ]
        )


@admin.register(AccessEvent)
class AccessEventAdmin(ReadOnlyModelAdmin):
    """The audit trail, read-only for everyone: nobody adds, changes or deletes a record here."""

    list_filter = ["action", "reason", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["user__username", "user__first_name", "user__last_name", "guest__name", "=appointment__id"]
    list_select_related = ["user", "guest"]
    date_hierarchy = "created_at"
    # In words, as on the list; the codes stay in the database and the CSV export.
    fields = ("when", "what", "who", "appointment_id", "detail", "ip_address", "user_agent")
    readonly_fields = fields
    change_list_template = "admin/telemedicine/accessevent/change_list.html"

    def get_list_display(self, request):
        """When, what and who in words; each row links to its appointment, as this reader may open it."""
        return ["when", "what", "who", appointment_link_for(request), "ip_address"]

    @admin.display(description="When", ordering="created_at")
    def when(self, event: AccessEvent) -> str:
        return format_moment(event.created_at)

    @admin.display(description="What")
    def what(self, event: AccessEvent) -> str:
        return event.summary

    @admin.display(description="Who")
    def who(self, event: AccessEvent) -> str:
        return event.person

    def has_export_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def changelist_view(self, request, extra_context=None):
        # Django's own 403 says nothing; this one says whose the trail is and whom to ask.
        if not self.has_view_or_change_permission(request):
            raise audit_trail_refused()
        extra_context = (extra_context or {}) | {"can_export": self.has_export_permission(request)}
        return super().changelist_view(request, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise audit_trail_refused()
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        export = path(
            "export/",
            self.admin_site.admin_view(self.export_csv),
            name="telemedicine_accessevent_export",
        )
        return [export, *super().get_urls()]

    def export_csv(self, request):
        """The audit trail as CSV, with the change list's filters applied; superusers only."""
        if not self.has_export_permission(request):
            raise Refused(
                "Only the clinic's administrators export the audit trail",
                "Your account can read the trail here, but not take a copy of it. "
                "Ask an administrator if you need one.",
            )
        try:
            events = self.get_changelist_instance(request).get_queryset(request).select_related("user", "guest")
        except IncorrectLookupParameters:
            # A filter that makes no sense (?created_at__gte=x): say so on the list, export nothing.
            self.message_user(request, "These filters cannot be applied, so nothing was exported.", messages.ERROR)
            return redirect("admin:telemedicine_accessevent_changelist")
        response = StreamingHttpResponse(csv_rows(events), content_type="text/csv; charset=utf-8")
        filename = f"access-events-{timezone.now():%Y%m%d-%H%M%S}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


def appointment_link_for(request):
    """The audit list's "Appointment" column: the staff view for staff who may open it, else the admin's page."""
    staff_view = may_open_staff_view(request.user)

    @admin.display(description="Appointment", ordering="appointment_id")
    def appointment(event: AccessEvent) -> str:
        url_name = "appointments:staff-view" if staff_view else "admin:appointments_appointment_change"
        url = reverse(url_name, args=[event.appointment_id])
        return format_html('<a href="{}">Appointment #{}</a>', url, event.appointment_id)

    return appointment


@admin.register(Guest)
class GuestAdmin(ReadOnlyModelAdmin):
    """Who was invited to which visit, by whom, and whether it was withdrawn: read-only, as the audit trail."""

    list_display = ["name", "appointment_id", "invited_by_name", "invited_at", "revoked_at"]
    list_select_related = ["invited_by"]
    search_fields = ["name", "email", "=appointment__id"]
    fields = ("appointment", "name", "email", "invited_by_name", "invited_at", "revoked_at", "revoked_by_name")
    readonly_fields = fields

    @admin.display(description="Invited by", ordering="invited_by__last_name")
    def invited_by_name(self, guest: Guest) -> str:
        return display_name(guest.invited_by)

    @admin.display(description="Withdrawn by")
    def revoked_by_name(self, guest: Guest) -> str:
        return display_name(guest.revoked_by) if guest.revoked_by else "—"

from django import template
from django.utils import timezone
from django.utils.html import format_html

from ..access import call_phase
from ..status import BADGES

register = template.Library()


@register.simple_tag
def video_badge(appointment):
    """The appointment's video-visit badge as the status card would show it right now."""
    phase = call_phase(appointment, timezone.now())
    label, css_class = BADGES[phase]
    # format_html, not an inclusion template: the dashboard renders one per row, and a
    # sub-template render per row was a fifth of the 200-row dashboard (make bench).
    return format_html('<span class="badge {}" data-phase="{}">{}</span>', css_class, phase, label)

from django import template
from django.utils import timezone

from ..access import call_phase
from ..status import BADGES

register = template.Library()


@register.inclusion_tag("telemedicine/video_badge.html")
def video_badge(appointment):
    """The appointment's video-visit badge as the status card would show it right now."""
    phase = call_phase(appointment, timezone.now())
    label, css_class = BADGES[phase]
    return {"label": label, "css_class": css_class, "phase": phase}

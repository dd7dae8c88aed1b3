"""
{% remember %}: a piece of a template rendered once per process for each set of values it shows.

A busy doctor's dashboard repeats some 200 rows every 30 seconds, and the template engine
spent most of the page's time rendering them again from the same few strings
(docs/performance.md). A row's HTML depends only on the values it is given, so the tag
keeps what it rendered, keyed by the tag itself and by those values:

    {% load fragments %}
    {% remember row role telemedicine_enabled %} ...the cells of one row... {% endremember %}

List every value the block reads, as with Django's own {% cache %} (whose vary_on this is):
a value left out would let one row's HTML stand for another's. A value the code has already
made into one string of everything a piece shows is the cheapest key (the dashboard's rows
carry one: appointments.listing.row_key). Nothing that changes per
request (a CSRF token, the person's name) belongs inside. Values may be strings, numbers,
and dicts or lists of them (frozen into the key). What every piece reads without naming it is
in every key too: the site's URL prefix ({% url %} writes it; a deployment may serve the app
under more than one) and the active language (formats and translations follow it).

The memory is per process and in memory (no round trip; the cache's copy would cost one per
row), and holds at most MAX_REMEMBERED pieces and MAX_REMEMBERED_CHARACTERS of HTML (a
whole list is remembered too, not only its rows): past either it starts afresh. A reworded
template is compiled into a new tag object (a restart in production, the autoreloader in
development), so nothing the old wording rendered is served again.

Registered as the template library "fragments" (settings.TEMPLATES' "libraries").
"""

from django import template
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

MAX_REMEMBERED = 20_000
MAX_REMEMBERED_CHARACTERS = 30_000_000
_remembered: dict[tuple, SafeString] = {}
_characters = [0]  # the length of all the HTML remembered


PLAIN = frozenset({str, int, float, bool, type(None)})


def frozen(value):
    """
    A hashable stand-in for a template value: dicts and lists become tuples. Anything else
    is refused: a model instance, say, is equal to any other copy of its row, whatever
    its fields say now.
    """
    kind = type(value)
    if kind in PLAIN:
        return value
    if kind is dict:
        return tuple([(key, frozen(item)) for key, item in value.items()])
    if kind is list or kind is tuple:
        return tuple([frozen(item) for item in value])
    if isinstance(value, str):  # SafeString and other subclasses
        return str(value), kind.__name__
    raise TypeError(f"{{% remember %}} keys on strings, numbers, dicts and lists, not {kind.__name__}")


def rendered_for(context) -> tuple[str, str | None]:
    """The URL prefix and the language the template is being rendered for: asked once per render (7-10 µs)."""
    found = context.render_context.get(rendered_for)
    if found is None:
        found = context.render_context[rendered_for] = (get_script_prefix(), get_language())
    return found


class RememberNode(template.Node):
    def __init__(self, nodelist, values):
        self.nodelist, self.values = nodelist, values

    def render(self, context):
        key = (self, rendered_for(context), *(frozen(value.resolve(context)) for value in self.values))
        html = _remembered.get(key)
        if html is None:
            html = mark_safe(self.nodelist.render(context))  # the engine's own output, escaped as it renders
            if len(_remembered) >= MAX_REMEMBERED or _characters[0] + len(html) > MAX_REMEMBERED_CHARACTERS:
                _remembered.clear()
                _characters[0] = 0
            _remembered[key] = html
            _characters[0] += len(html)
        return html


@register.tag
def remember(parser, token):
    """{% remember value1 value2 ... %}...{% endremember %}: see the module's docstring."""
    values = [parser.compile_filter(bit) for bit in token.split_contents()[1:]]
    if not values:
        raise template.TemplateSyntaxError("{% remember %} needs the values its content shows.")
    nodelist = parser.parse(("endremember",))
    parser.delete_first_token()
    return RememberNode(nodelist, values)

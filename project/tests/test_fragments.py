"""{% remember %} (project/fragments.py): the same HTML as without it, never another piece's."""

import pytest
from django.template import Context, Engine, Template
from django.urls import clear_script_prefix, set_script_prefix
from django.utils import translation

from project import fragments

ENGINE = Engine(libraries={"fragments": "project.fragments"})


def compile_template(text: str) -> Template:
    return ENGINE.from_string("{% load fragments %}" + text)


ROW = "{% remember row role %}<td>{{ row.when }}</td><td>{{ row.video.badge }}</td><td>{{ role }}</td>{% endremember %}"


def render(template: Template, **values) -> str:
    return template.render(Context(values))


@pytest.fixture(autouse=True)
def forget():
    fragments._remembered.clear()
    yield
    fragments._remembered.clear()


def test_it_renders_what_the_template_renders():
    row = {"when": "10:00", "video": {"badge": "<Open>"}}
    assert render(compile_template(ROW), row=row, role="doctor") == "<td>10:00</td><td>&lt;Open&gt;</td><td>doctor</td>"


def test_a_second_render_with_the_same_values_is_remembered_and_identical():
    template = compile_template(ROW)
    row = {"when": "10:00", "video": {"badge": "Open"}}
    first = render(template, row=row, role="doctor")
    assert len(fragments._remembered) == 1
    assert render(template, row=dict(row), role="doctor") == first
    assert len(fragments._remembered) == 1


@pytest.mark.parametrize(
    "changed",
    [
        {"row": {"when": "10:15", "video": {"badge": "Open"}}, "role": "doctor"},
        {"row": {"when": "10:00", "video": {"badge": "Ended"}}, "role": "doctor"},  # a nested value
        {"row": {"when": "10:00", "video": {"badge": "Open"}}, "role": "patient"},
    ],
)
def test_any_value_that_differs_renders_afresh(changed):
    template = compile_template(ROW)
    render(template, row={"when": "10:00", "video": {"badge": "Open"}}, role="doctor")
    without_the_tag = ROW.replace("{% remember row role %}", "").replace("{% endremember %}", "")
    expected = render(compile_template(without_the_tag), **changed)
    assert render(template, **changed) == expected


@pytest.mark.parametrize("prefixes", [("/", "/clinic/"), ("/clinic/", "/")])
def test_a_piece_that_writes_a_url_is_remembered_per_url_prefix(prefixes):
    """{% url %} writes the site's URL prefix: a piece remembered under one is never served under another."""
    template = ENGINE.from_string(
        "{% load fragments %}{% remember pk %}"
        "<a href=\"{% url 'appointments:dashboard' %}?p={{ pk }}\">"
        "{% endremember %}"
    )
    shown = []
    try:
        for prefix in prefixes:
            set_script_prefix(prefix)
            shown.append(render(template, pk=1))
    finally:
        clear_script_prefix()
    assert shown == [f'<a href="{prefix}appointments/?p=1">' for prefix in prefixes]


def test_a_piece_is_remembered_per_language():
    template = compile_template("{% remember n %}{{ n }}{% endremember %}")
    with translation.override("en-gb"):
        render(template, n=1)
    with translation.override("fr"):
        render(template, n=1)
    assert len(fragments._remembered) == 2


def test_a_reworded_template_never_serves_what_the_old_wording_rendered():
    row = {"when": "10:00", "video": {"badge": "Open"}}
    assert "Open" in render(compile_template(ROW), row=row, role="doctor")
    reworded = compile_template(ROW.replace("{{ row.video.badge }}", "Video: {{ row.video.badge }}"))
    assert "Video: Open" in render(reworded, row=row, role="doctor")


def test_values_that_are_not_plain_are_refused():
    """A model instance equals every other copy of its row: it would make a stale key."""
    from django.contrib.auth.models import User

    with pytest.raises(TypeError):
        render(compile_template(ROW), row=User(pk=1, username="a"), role="doctor")


def test_the_memory_starts_afresh_when_full(monkeypatch):
    monkeypatch.setattr(fragments, "MAX_REMEMBERED", 3)
    template = compile_template(ROW)
    fragments._remembered.clear()
    sizes = []
    for minute in range(5):
        render(template, row={"when": f"10:0{minute}", "video": {}}, role="doctor")
        sizes.append(len(fragments._remembered))
    assert sizes == [1, 2, 3, 1, 2]  # full at 3: cleared, then the new piece kept


def test_the_memory_starts_afresh_when_it_holds_too_much_html(monkeypatch):
    monkeypatch.setattr(fragments, "MAX_REMEMBERED_CHARACTERS", 100)
    monkeypatch.setattr(fragments, "_characters", [0])
    template = compile_template(ROW)
    sizes = []
    for minute in range(5):
        # Each piece is some 40 characters: the third would pass 100.
        render(template, row={"when": f"10:0{minute}", "video": {}}, role="doctor")
        sizes.append(len(fragments._remembered))
    assert sizes == [1, 2, 1, 2, 1]

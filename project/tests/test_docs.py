"""
The README is the entry point and docs/ holds the depth: every link between them must lead
somewhere. A renamed heading or a moved file breaks a link silently; this test says which.
"""

import re
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
DOCUMENTS = [BASE_DIR / "README.md", *sorted((BASE_DIR / "docs").glob("*.md"))]
LINK = re.compile(r"\]\((?P<target>[^)#\s]*)(?:#(?P<anchor>[^)\s]+))?\)")
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*$", re.MULTILINE)


def slug(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)  # a '#' in a code block is no heading
    return {slug(match["title"]) for match in HEADING.finditer(text)}


def links(path: Path) -> list[tuple[str, str | None]]:
    return [(m["target"], m["anchor"]) for m in LINK.finditer(path.read_text()) if not m["target"].startswith("http")]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.relative_to(BASE_DIR).as_posix())
def test_every_link_leads_somewhere(document):
    broken = []
    for target, anchor in links(document):
        path = (document.parent / target).resolve() if target else document
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target}#{anchor}: no such heading")
    assert broken == [], f"{document.name}: {broken}"


def test_the_readme_links_every_document_in_docs():
    linked = {(BASE_DIR / target).resolve() for target, _ in links(BASE_DIR / "README.md") if target}
    missing = [path.name for path in DOCUMENTS[1:] if path.resolve() not in linked]
    assert missing == [], f"docs/ pages the README does not lead to: {missing}"


def test_a_broken_link_is_caught(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](#nowhere) [file](missing.md)\n")
    found = [(target, anchor) for target, anchor in links(page)]
    assert found == [("", "title"), ("", "nowhere"), ("missing.md", None)]
    assert anchors(page) == {"title"}


def test_the_url_table_names_every_route():
    """docs/architecture.md's URL table is where a newcomer looks a route up: none may be missing."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def names(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace != "admin":
                    inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                    yield from names(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                yield namespace + pattern.name

    table = (BASE_DIR / "docs" / "architecture.md").read_text().split("## URLs", 1)[1]
    missing = [name for name in names(get_resolver().url_patterns) if f"`{name}`" not in table]
    assert missing == [], f"routes missing from docs/architecture.md's URL table: {missing}"

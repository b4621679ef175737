"""The documentation's links: in README.md and every docs/*.md, each relative markdown link
`[text](path)` or `[text](path#anchor)` names a file of the repository, and each `#anchor` (to the
same file or another .md file) names a heading of its target under GitHub's slug rules. Links in
fenced code blocks and inline code are not links; http(s) and mailto links are not checked. The
README stays short enough to read in a few minutes."""

import re
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple
from urllib.parse import unquote

import pytest

from tests import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
MAX_README_LINES = 250
EXTERNAL = ("http://", "https://", "mailto:")

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
# [text](target) or ![alt](target), with an optional "title"; the text may hold `code`.
LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")


def markdown_files() -> List[Path]:
    return [README, *sorted((PROJECT_ROOT / "docs").glob("*.md"))]


def prose_lines(text: str) -> Iterator[Tuple[int, str]]:
    """`(line number, line)` of every line outside fenced code blocks."""
    fence = ""
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                if not line.strip().strip(fence[0]):  # a closing fence has no info string
                    fence = ""
            continue
        if match:
            fence = match.group(1)
            continue
        yield number, line


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text: links reduced to their text, lowercased, every
    character but letters, digits, spaces, '-' and '_' dropped, spaces turned into '-'."""
    text = LINK.sub(lambda match: match.group(1), heading)
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> Set[str]:
    """Every heading's anchor; a repeated slug gets -1, -2, ... as on GitHub."""
    seen: Dict[str, int] = {}
    found = set()
    for _, line in prose_lines(text):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        anchor = base if base not in seen else f"{base}-{seen[base]}"
        seen[base] = seen.get(base, 0) + 1
        found.add(anchor)
    return found


def links(text: str) -> Iterator[Tuple[int, str]]:
    """`(line number, target)` of every markdown link outside code."""
    for number, line in prose_lines(text):
        for match in LINK.finditer(INLINE_CODE.sub("", line)):
            yield number, match.group(2)


def broken_links(path: Path) -> List[str]:
    """What is wrong with `path`'s relative links, one message per broken link."""
    problems = []
    anchors_of: Dict[Path, Set[str]] = {}
    for number, target in links(path.read_text(encoding="utf-8")):
        if target.lower().startswith(EXTERNAL):
            continue
        where = f"{path.relative_to(PROJECT_ROOT)}:{number}: ({target})"
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not resolved.is_relative_to(PROJECT_ROOT) or not resolved.exists():
            problems.append(f"{where} names no file of the repository")
            continue
        if not anchor or resolved.suffix != ".md":
            continue
        if resolved not in anchors_of:
            anchors_of[resolved] = anchors(resolved.read_text(encoding="utf-8"))
        if unquote(anchor) not in anchors_of[resolved]:
            problems.append(f"{where}: no heading of {resolved.name} has the anchor #{anchor}")
    return problems


@pytest.mark.parametrize("path", markdown_files(), ids=lambda path: path.name)
def test_every_relative_link_and_anchor_resolves(path):
    # Given a page of the documentation
    # When its relative links are resolved against the repository and its targets' headings
    problems = broken_links(path)
    # Then every one names an existing file, and every anchor a heading of it
    assert problems == []


def test_the_docs_folder_is_linked_from_the_readme():
    # Given the README's link targets
    targets = {target.partition("#")[0] for _, target in links(README.read_text("utf-8"))}
    # Then every page of docs/ is reachable from it
    pages = {f"docs/{page.name}" for page in markdown_files()[1:]}
    assert pages, "docs/ holds no page"
    assert pages - targets == set()


def test_the_readme_is_short():
    # Given the README
    lines = README.read_text(encoding="utf-8").splitlines()
    # Then a newcomer reads it in a few minutes
    assert len(lines) <= MAX_README_LINES


def test_slugs_follow_githubs_rules():
    # Given headings with spaces, code, punctuation and links
    # Then their anchors are GitHub's
    assert slug("Train on your own documents") == "train-on-your-own-documents"
    assert slug("Configs (`training_config/`)") == "configs-training_config"
    assert slug("`max_length` within the model") == "max_length-within-the-model"
    assert slug("Make demo and make test: 2 commands!") == "make-demo-and-make-test-2-commands"
    assert slug("See [the configs](configs.md)") == "see-the-configs"
    assert slug("A - B") == "a---b"


def test_duplicate_headings_get_numbered_anchors():
    # Given a page with a heading repeated three times
    text = "# Setup\n## Notes\n### Notes\n## Notes\n"
    # Then the repeats get -1 and -2, as on GitHub
    assert anchors(text) == {"setup", "notes", "notes-1", "notes-2"}


def test_code_is_neither_a_heading_nor_a_link():
    # Given links and a heading inside a fenced block, and a link in inline code
    text = (
        "# Title\n"
        "```bash\n# not a heading\n[a](missing.md)\n```\n"
        "~~~~\n```\n[b](missing.md)\n~~~~\n"
        "Use `[c](missing.md)` or [d](README.md#title).\n"
    )
    # Then only the prose counts
    assert anchors(text) == {"title"}
    assert list(links(text)) == [(10, "README.md#title")]


def test_a_broken_link_and_a_broken_anchor_are_reported(tmp_path, monkeypatch):
    # Given a page with a missing file, two missing anchors, a good link and a web link
    root = tmp_path.resolve()
    monkeypatch.setattr("tests.test_docs.PROJECT_ROOT", root)
    (root / "other.md").write_text("# Present\n", encoding="utf-8")
    page = root / "page.md"
    page.write_text(
        "[ok](other.md#present) [gone](gone.md) [anchor](other.md#absent) [self](#nowhere)\n"
        "[web](https://example.com/x.md#y)\n",
        encoding="utf-8",
    )
    # When it is checked
    problems = broken_links(page)
    # Then the three broken links, and only they, are reported
    assert len(problems) == 3
    assert "page.md:1: (gone.md) names no file" in problems[0]
    assert "#absent" in problems[1] and "#nowhere" in problems[2]

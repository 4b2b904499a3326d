"""docs/emulator-sql.md's rule tables, written from the rule declarations.

The page keeps its hand-written prose; the section between :data:`BEGIN` and :data:`END` is
generated (``python -m redshift_async_backend.emulator.rules --write-docs``), and
tests/emulator/test_rules_declared.py fails when it is stale.
"""

from __future__ import annotations

from pathlib import Path

from .declare import DOCS_URL, FULL, NO, REGISTRY, Rule

PAGE = Path(__file__).resolve().parents[3] / "docs" / "emulator-sql.md"
BEGIN = (
    "<!-- generated: `python -m redshift_async_backend.emulator.rules --write-docs` writes "
    "this section from the rule declarations; edit those, not this -->"
)
END = "<!-- end of the generated section -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _pages(rule: Rule) -> str:
    return ", ".join(f"[{p}]({DOCS_URL.format(page=p)})" for p in (rule.page, *rule.see))


def _tests(rule: Rule) -> str:
    return ", ".join(f"`{t.removeprefix('tests/emulator/')}`" for t in rule.tests)


def _fidelity(rule: Rule) -> str:
    if rule.fidelity is FULL:
        return "full" + (f" ({rule.gap})" if rule.gap else "")
    return f"{rule.fidelity.value}: {rule.gap}"


def _answer(rule: Rule) -> str:
    source = f"*({rule.source})*" if rule.source else ""
    return f"`{rule.answer}` {source}".rstrip() if rule.answer else source


def render() -> str:
    """The generated section, markers included."""
    lines = [BEGIN, ""]
    for part in REGISTRY.parts:
        rules = [r for r in REGISTRY.rules if r.part is part and r.fidelity is not NO]
        if not rules:
            continue
        lines += [f"### {part.title}", "", part.intro, ""]
        lines += [
            "| Rule | What Redshift does (AWS page) | Emulated | Answer | Tests |",
            "|---|---|---|---|---|",
        ]
        for r in rules:
            lines.append(
                "| "
                + " | ".join(
                    _cell(x)
                    for x in (
                        f"`{r.id}`",
                        f"{r.does} ({_pages(r)})",
                        _fidelity(r),
                        _answer(r),
                        _tests(r),
                    )
                )
                + " |"
            )
        lines.append("")
    missing = [r for r in REGISTRY.rules if r.fidelity is NO]
    lines += [
        "### Not emulated",
        "",
        "What Redshift does that the emulator does not: an application can pass its tests "
        "here and fail on a cluster.",
        "",
        "| Rule | What Redshift does (AWS page) | What happens instead |",
        "|---|---|---|",
    ]
    for r in missing:
        lines.append(
            "| "
            + " | ".join(_cell(x) for x in (f"`{r.id}`", f"{r.does} ({_pages(r)})", r.gap))
            + " |"
        )
    lines += ["", END]
    return "\n".join(lines)


def _split(text: str) -> tuple[str, str, str]:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{PAGE.name} has no generated section ({BEGIN!r} ... {END!r})")
    return text[:start], text[start : end + len(END)], text[end + len(END) :]


def current(path: Path = PAGE) -> str:
    """The generated section as the page has it now."""
    return _split(path.read_text())[1]


def write(path: Path = PAGE) -> bool:
    """Rewrite the page's generated section; True if it changed."""
    before, old, after = _split(path.read_text())
    new = render()
    if new == old:
        return False
    path.write_text(before + new + after)
    return True

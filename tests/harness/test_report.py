"""``python -m benchmarks.report``: RESULTS.md from the committed JSON files, no benchmark run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmarks import report

pytestmark = pytest.mark.unit
times = report.times  # "1.21 \u00d7"


def sections(text: str) -> dict[str, str]:
    """Level-2 heading -> that section's text."""
    out: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:]
            out[current] = ""
        elif current is not None:
            out[current] += line + "\n"
    return out


def heading(bench: report.Bench) -> str:
    return f"{bench.title} (issue #{bench.issue})"


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A copy of the committed results, so that nothing is written into the checkout."""
    copy = tmp_path / "results"
    shutil.copytree(report.RESULTS_DIR, copy, ignore=shutil.ignore_patterns("*.png"))
    return copy


def load(name: str) -> dict:
    return json.loads((report.RESULTS_DIR / name).read_text())


def test_every_section_has_its_ratio_and_verdict(results: Path, tmp_path: Path) -> None:
    text = report.render(results, report.NOTES_DIR, tmp_path / "RESULTS.md", plots=False)
    found = sections(text)
    assert "Summary" in found
    for bench in report.BENCHES:
        body = found[heading(bench)]
        assert "**Method.**" in body and "**Run:**" in body
        assert "Not run yet" not in body and "Could not read" not in body
        if bench.key != "drivers":  # issue #8 has no speed target
            assert "| met |" in body or "| missed |" in body, bench.key
            assert "**Targets:**" in body

    emu = load("emulator.json")
    body = found[heading(report.BENCHES[0])]
    for client in ("python", "pgbench"):
        for side in ("emulator", "emulator_workers"):
            ratio = emu["throughput"][client][side]["ratio"]
            verdict = "met" if ratio >= 0.70 else "missed"
            assert f"| {ratio * 100:.0f} % | ≥ 70 % | {verdict} |" in body
        reference = emu["throughput"][client]["pgbouncer"]["ratio"]
        assert f"| {reference * 100:.0f} % |  | reference |" in body

    bulk = load("bulk_create.json")
    body = found["bulk_create against django-redshift-backend (issue #4)"]
    for label, run in bulk["runs"].items():
        assert f"| {label} | {run['rows_per_s']:,} | {times(run['vs_prior_art'])} |" in body
        if not label.startswith("django-redshift-backend"):
            verdict = "met" if run["vs_prior_art"] >= 1.0 else "missed"
            assert body.count(f"| {verdict} |") >= 1

    aio = load("async.json")
    body = found["Native async ORM (issue #9)"]
    speedup = aio["concurrency"]["speedup"]
    verdict = "met" if speedup >= 10 else "missed"
    assert f"{times(speedup, 1)} faster | ≥ {times(10, 0)} | {verdict} |" in body
    for r in aio["overhead"].values():
        verdict = "met" if r["ratio"] <= 1.3 else "missed"
        assert f"| {times(r['ratio'])} | ≤ {times(1.3, 1)} | {verdict} |" in body
        assert f"{report.num(r['layer_us'])} µs ({times(r['layer_ratio'])})" in body

    pool = load("pool.json")
    low = min(c["ratio"] for c in pool["B2"])
    assert f"| {low:.2f} (range {low:.2f}" in found["Connection pool (issue #7)"]

    orm = load("orm.json")
    overhead = orm["ops"]["get(pk=)"]["backend_overhead"]
    verdict = "met" if overhead <= 1.15 else "missed"
    assert (
        f"| {times(overhead)} | ≤ 1.15 | {verdict} |" in found["ORM per-query overhead (issue #4)"]
    )


def test_the_hand_written_notes_are_all_there(results: Path, tmp_path: Path) -> None:
    text = report.render(results, report.NOTES_DIR, tmp_path / "RESULTS.md", plots=False)
    notes = sorted(report.NOTES_DIR.glob("*.md"))
    assert {p.stem for p in notes} >= {b.key for b in report.BENCHES} | {"intro"}
    for path in notes:
        assert path.read_text().strip() in text, path.name


def test_a_missing_json_gives_a_section_that_says_so(results: Path, tmp_path: Path) -> None:
    (results / "emulator.json").unlink()
    (results / "orm.json").unlink()  # the ORM and the drivers sections both read it
    text = report.render(results, report.NOTES_DIR, tmp_path / "RESULTS.md", plots=False)
    found = sections(text)
    for title in ("Emulator (issue #3)", "ORM per-query overhead (issue #4)"):
        assert "**Not run yet:**" in found[title]
        assert "| met |" not in found[title]
    assert "**Not run yet:**" in found["Drivers side by side (issue #8)"]
    assert "| Emulator | #3 | — | not run |" in found["Summary"]
    assert "**Not run yet:**" not in found["Connection pool (issue #7)"]


def test_no_results_at_all_and_a_json_of_another_shape(tmp_path: Path) -> None:
    empty = tmp_path / "results"
    empty.mkdir()
    text = report.render(empty, tmp_path / "no-notes", tmp_path / "RESULTS.md", plots=False)
    assert text.count("**Not run yet:**") == len(report.BENCHES)
    (empty / "pool.json").write_text('{"B1": "not a list"}')
    text = report.render(empty, tmp_path / "no-notes", tmp_path / "RESULTS.md", plots=False)
    assert "**Could not read** `pool.json`" in sections(text)["Connection pool (issue #7)"]


def test_main_writes_the_file_and_the_plots(results: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    shutil.copy(report.RESULTS_DIR / "pool.png", results / "pool.png")
    out = tmp_path / "RESULTS.md"
    assert report.main(["--results", str(results), "--out", str(out)]) == 0
    text = out.read_text()
    for png in ("emulator.png", "pool.png", "pool_b2.png", "bulk_create.png"):
        assert f"](results/{png})" in text
        assert (results / png).stat().st_size > 0


def test_the_run_as_the_benches_now_record_it() -> None:
    from benchmarks._run_info import load_average, run_info

    data = {"run": run_info(load_average(), quick=True, packages=("psycopg", "no-such-package"))}
    data["run"]["argv"] = ["--quick", "--upstream", "postgresql://u:***@h/db"]
    line = " ".join(report.run_lines(data, "orm_bench"))
    assert data["run"]["date"][:10] in line
    assert "quick run" in line and "CPUs" in line and "load average (1, 5, 15 min)" in line
    assert "no-such-package" not in line
    assert "`python -m benchmarks.orm_bench --quick --upstream postgresql://u:***@h/db`" in line

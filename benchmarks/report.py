"""Render ``benchmarks/RESULTS.md`` from ``benchmarks/results/*.json``; no benchmark runs.

    python -m benchmarks.report [--results DIR] [--notes DIR] [--out PATH] [--no-plots]

For each benchmark: its issue, how it is measured, the run (date, machine, load average,
versions, as its JSON records them), ours against the anchor with the ratio, the issue's
target and a verdict ("met" / "missed") computed from the numbers, plots where a picture
reads better than a table (PNG, matplotlib's Agg backend, written beside the JSON files),
and the hand-written findings from ``benchmarks/notes/<benchmark>.md``. A benchmark whose
JSON is missing gets a section saying it has not been run. ``hatch run bench`` runs every
benchmark and then this.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.report_create import create

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
NOTES_DIR = HERE / "notes"
OUT = HERE / "RESULTS.md"

MET, MISSED = "met", "missed"

# Issue targets, used when a JSON does not carry its own.
EMULATOR_ADDED_P50_US = 150.0
EMULATOR_THROUGHPUT_RATIO = 0.70
POOL_B2_RATIO = 0.9
POOL_B4_OVER_LITTLE = 3.0
POOL_B6_FIRST_SUCCESS_S = 1.0
ORM_READ_RATIO = 1.15
ORM_READS = ("get(pk=)", "filter+count", "iterate 100 rows")  # as orm_bench.READS
ORM_CREATE_ROUND_TRIPS = 2
BULK_VS_PRIOR_ART = 1.0
ASYNC_SPEEDUP = 10.0
ASYNC_VS_RAW = 1.3


# -- formatting --------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return MET if ok else MISSED


def num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def times(value: Any, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f} \u00d7"


def percent(value: Any) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def wrap(text: str, width: int = 100) -> list[str]:
    """A paragraph wrapped at ``width`` (tables, images and headings are left alone)."""
    if text.startswith(("|", "!", "#", "<")) or len(text) <= width:
        return [text]
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)


def table(header: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    """A markdown table; ``align`` has one letter per column (l or r), default l."""
    marks = ["---:" if (align[i : i + 1] == "r") else "---" for i in range(len(header))]
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(marks) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


# -- one section's output ----------------------------------------------------------------


@dataclass
class Out:
    """What a section renderer produces: lines, and the targets it judged."""

    results_dir: Path
    out_path: Path
    plots: bool
    lines: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)

    def add(self, *lines: str) -> None:
        for line in lines:
            self.lines.extend(wrap(line))

    def check(self, name: str, ok: bool) -> str:
        self.checks.append((name, ok))
        return verdict(ok)

    def image(self, png: str, caption: str, draw: Callable[[Path], None] | None = None) -> None:
        """Link ``results/<png>``; draw it first if ``draw`` is given and plots are on."""
        path = self.results_dir / png
        if draw is not None:
            if not self.plots or not _draw(draw, path):
                return
        elif not path.exists():
            return
        link = Path(os.path.relpath(path, self.out_path.parent)).as_posix()
        self.add(f"![{caption}]({link})", "")


def _draw(draw: Callable[[Path], None], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        draw(path)
    except Exception as exc:  # a plot must not cost the report its tables
        print(f"{path.name}: not drawn ({type(exc).__name__}: {exc})", file=sys.stderr)
        return False
    finally:
        plt.close("all")
    return True


def _pyplot() -> Any:
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})


# -- the run: date, machine, load, versions ------------------------------------------------


def _load(values: Any) -> str:
    if not values:
        return "?"
    return ", ".join(f"{float(v):.2f}" for v in values)


def run_lines(data: dict[str, Any], module: str) -> list[str]:
    """The run as the JSON records it (``"run"``, or the older per-bench fields)."""
    run: dict[str, Any] = dict(data.get("run") or {})
    machine = data.get("machine") or {}
    for key in ("python", "platform", "cpus"):
        run.setdefault(key, machine.get(key, data.get(key)))
    run.setdefault("load_average", data.get("load_average"))
    packages: dict[str, Any] = dict(run.get("packages") or {})
    for key, name in (("psycopg", "psycopg"), ("psycopg_pool", "psycopg-pool")):
        if isinstance(data.get(key), str):
            packages.setdefault(name, data[key])
    django = data.get("django") or data.get("ours_django")
    if isinstance(django, str):
        packages.setdefault("django", django)
    quick = run.get("quick", data.get("quick"))

    parts = []
    date = run.get("date")
    parts.append(f"{date}" if date else "date not recorded (this JSON predates the run metadata)")
    machine_bits = []
    if run.get("python"):
        machine_bits.append(f"Python {run['python']}")
    if run.get("platform"):
        machine_bits.append(f"on {run['platform']},")
    if run.get("cpus"):
        machine_bits.append(f"{run['cpus']} CPUs")
    parts.append(" ".join(machine_bits).rstrip(",") if machine_bits else "machine not recorded")
    load = run.get("load_average") or {}
    if load.get("before") or load.get("after"):
        parts.append(
            f"load average (1, 5, 15 min) {_load(load.get('before'))} before, "
            f"{_load(load.get('after'))} after"
        )
    else:
        parts.append("load average not recorded")
    versions = ", ".join(f"{name} {v}" for name, v in packages.items() if v)
    if versions:
        parts.append(versions)
    if quick is not None:
        parts.append("**quick run** (fewer iterations; indicative only)" if quick else "full run")
    argv = run.get("argv")
    if argv is not None:
        parts.append(f"command `{' '.join(['python -m benchmarks.' + module, *argv])}`")
    return [*wrap("**Run:** " + "; ".join(parts) + "."), ""]


# -- the benchmarks ----------------------------------------------------------------------


EMULATOR_SIDES = ("emulator", "emulator_workers", "pgbouncer")
EMULATOR_CLIENTS = {"python": "Python threads (psycopg)", "pgbench": "pgbench (C)"}


def _emulator_label(side: str, workers: int) -> str:
    if side == "pgbouncer":
        return "PgBouncer instead (reference)"
    return "one process" if side == "emulator" else f"`--workers {workers}`"


def emulator(data: dict[str, Any], out: Out) -> None:
    targets = data.get("targets") or {}
    max_added = float(targets.get("added_p50_us_max", EMULATOR_ADDED_P50_US))
    min_ratio = float(targets.get("throughput_ratio_min", EMULATOR_THROUGHPUT_RATIO))
    rows = []
    for label, row in data["latency"].items():
        added = row["added_p50_us"]
        rows.append(
            [
                f"p50 `{label}`",
                f"{num(row['direct']['p50_us'])} µs",
                f"{num(row['emulator']['p50_us'])} µs",
                f"+{num(added)} µs",
                f"≤ +{max_added:.0f} µs",
                out.check(f"added p50 `{label}`", added <= max_added),
            ]
        )
    tput = data["throughput"]
    workers = tput.get("workers", 2)
    runs = {client: tput[client] for client in EMULATOR_CLIENTS if client in tput}
    for client, result in runs.items():
        for side in (name for name in EMULATOR_SIDES if name in result):
            row = result[side]
            label = (
                f"{result['clients']} clients as {EMULATOR_CLIENTS[client]}, "
                f"{_emulator_label(side, workers)}"
            )
            reference = side == "pgbouncer"
            rows.append(
                [
                    label,
                    f"{num(result['direct']['qps'])} q/s",
                    f"{num(row['qps'])} q/s",
                    percent(row["ratio"]),
                    "" if reference else f"≥ {min_ratio * 100:.0f} %",
                    "reference" if reference else out.check(label, row["ratio"] >= min_ratio),
                ]
            )
    out.add(
        *table(
            ["measure", "direct", "through the proxy", "added / ratio", "target", "verdict"],
            rows,
            "lrrrll",
        ),
        "",
    )
    p95 = "; ".join(
        f"`{label}` {num(row['direct']['p95_us'])} µs direct, "
        f"{num(row['emulator']['p95_us'])} µs through the emulator"
        for label, row in data["latency"].items()
    )
    out.add(f"p95: {p95}.", "")
    for client, result in runs.items():
        sides = [name for name in EMULATOR_SIDES if name in result]
        parts = [f"direct {', '.join(num(v) for v in result['direct']['runs'])}"]
        parts += [
            f"{_emulator_label(name, workers)} {', '.join(num(v) for v in result[name]['runs'])}"
            f" (ratios {', '.join(percent(v) for v in result[name]['ratios'])})"
            for name in sides
        ]
        cpu = [
            f"{_emulator_label(name, workers)}: the proxy "
            f"{num(result[name]['cpu_us_per_query'])} µs, the whole machine "
            f"{num(result[name]['machine_cpu_us_per_query'])} µs"
            for name in sides
            if "cpu_us_per_query" in result[name] and "machine_cpu_us_per_query" in result[name]
        ]
        text = (
            f"{EMULATOR_CLIENTS[client]}, each round's throughput ({result['seconds']:g} s "
            "per run, q/s): " + "; ".join(parts) + "."
        )
        if cpu and "machine_cpu_us_per_query" in result["direct"]:
            text += (
                " CPU per query (user + system, median of the runs): direct, the whole "
                f"machine {num(result['direct']['machine_cpu_us_per_query'])} µs; "
                + "; ".join(cpu)
                + "."
            )
        out.add(*wrap(text), "")

    def draw(path: Path) -> None:
        plt = _pyplot()
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        labels = list(data["latency"])
        width = 0.2
        for i, (side, stat, colour) in enumerate(
            (
                ("direct", "p50_us", "tab:blue"),
                ("emulator", "p50_us", "tab:orange"),
                ("direct", "p95_us", "lightsteelblue"),
                ("emulator", "p95_us", "navajowhite"),
            )
        ):
            xs = [j + (i - 1.5) * width for j in range(len(labels))]
            ys = [data["latency"][label][side][stat] for label in labels]
            left.bar(xs, ys, width, label=f"{side} {stat[:3]}", color=colour)
        left.set_xticks(range(len(labels)), labels)
        left.set_ylabel("latency (µs)")
        left.set_title("one connection, per query")
        left.set_ylim(
            0,
            1.35
            * max(
                data["latency"][label][side]["p95_us"]
                for label in labels
                for side in ("direct", "emulator")
            ),
        )
        left.legend(loc="upper left", ncol=2)
        sides = [name for name in EMULATOR_SIDES if any(name in r for r in runs.values())]
        width = 0.8 / max(1, len(runs))
        for i, (client, result) in enumerate(runs.items()):
            xs = [j + (i - (len(runs) - 1) / 2) * width for j in range(len(sides))]
            ys = [100 * result[name]["ratio"] if name in result else 0 for name in sides]
            right.bar(xs, ys, width, label=EMULATOR_CLIENTS[client])
        right.axhline(100 * min_ratio, color="grey", linestyle="--", label="target")
        right.set_xticks(
            range(len(sides)),
            [
                _emulator_label(n, workers).replace("`", "").replace(" (reference)", "")
                for n in sides
            ],
        )
        right.set_ylabel("% of direct throughput (median of rounds)")
        right.set_ylim(0, 110)
        right.set_title("16 clients, SELECT 1")
        right.legend(loc="upper right", fontsize="small")
        _save(fig, path)

    out.image("emulator.png", "Emulator: latency per query and throughput against direct", draw)
    if "stall" in data:
        _emulator_stall(data["stall"], out)
        if "stall_run" in data:  # measured apart: --only stall
            out.add(*run_lines({"run": data["stall_run"]}, "emulator_bench"))


def _emulator_stall(stall: dict[str, Any], out: Out) -> None:
    """Issue #17: another client's SELECT 1 while one client's long statement is
    rewritten, for each place the rewrite can run; the target is for the default."""
    target = float(stall.get("target_ms", 50))
    idle = stall["idle"]
    rows = [
        [
            "(nothing else runs)",
            "",
            "",
            f"{num(idle['select1_max_ms'])} / {num(idle['select1_p99_ms'])} ms",
            "",
            "noise floor",
        ]
    ]
    for side, by_statement in stall["sides"].items():
        for label, row in by_statement.items():
            default = "(default)" in side
            rows.append(
                [
                    side,
                    label,
                    f"{num(row['statement_s'])} s",
                    f"{num(row['select1_max_ms'])} / {num(row['select1_p99_ms'])} ms",
                    f"≤ {target:.0f} ms" if default else "",
                    out.check(f"stall, {label}", row["select1_max_ms"] <= target)
                    if default
                    else "for comparison",
                ]
            )
    out.add(
        *table(
            [
                "rewritten in",
                "long statement",
                "its time",
                "other client's SELECT 1, max / p99",
                "target",
                "verdict",
            ],
            rows,
            "llrrll",
        ),
        "",
    )


REWRITE_GROWTH_MAX = 1.5  # cost per row of the largest statement over the smallest's
REWRITE_JSON_OVER_TEXT = 2.0
REWRITE_FIRST_QUERY_MS = 50.0


def emulator_rewrite(data: dict[str, Any], out: Out) -> None:
    inner = data["in_process"]
    sizes = [str(n) for n in inner["sizes"]]
    rows = []
    for kind, row in inner["kinds"].items():
        cells = []
        for n in sizes:
            cell = row.get(n)
            if cell is None:
                cells.append("not run")
            elif "error" in cell:
                cells.append(cell["error"].split(":")[0])
            else:
                cells.append(f"{num(cell['us_per_row'])} µs")
        growth = row.get("growth")
        ok = growth is not None and growth <= REWRITE_GROWTH_MAX
        rows.append([kind, *cells, times(growth), out.check(f"linear: {kind}", ok)])
    out.add(
        *table(
            ["statement", *(f"{n} rows, per row" for n in sizes), "growth", "verdict"],
            rows,
            "l" + "r" * (len(sizes) + 1) + "l",
        ),
        "",
    )
    garbage = inner["garbage"]
    out.add(
        f"Growth ≤ {REWRITE_GROWTH_MAX} \u00d7 counts as linear. Cyclic garbage one rewrite of "
        f"the largest JSON statement leaves: {num(garbage['objects'])} objects "
        f"({num(garbage['collect_ms'])} ms to collect). A cached plain statement: "
        f"{num(inner['cached_plain_us'], 2)} µs.",
        "",
    )
    e2e = data["end_to_end"]
    rows = []
    for name in ("json", "text"):
        r = e2e[name]
        rows.append(
            [
                "JSONField (SUPER)" if name == "json" else "TextField",
                f"{num(r['seconds'], 2)} s",
                f"{num(r['emulator_cpu_s'], 2)} s",
                f"{num(r['idle_cpu_s'], 2)} s",
                f"{num(r['first_query_ms'])} ms",
            ]
        )
    out.add(
        *table(
            [
                f"bulk_create of {num(e2e['rows'])} rows",
                "wall",
                "emulator CPU",
                "emulator CPU, idle second after",
                "first SELECT 1 after",
            ],
            rows,
            "lrrrr",
        ),
        "",
    )
    ratio = e2e["json_over_text"]
    first = e2e["json"]["first_query_ms"]
    out.add(
        f"JSON over text: {times(ratio)} (≤ {REWRITE_JSON_OVER_TEXT} \u00d7: "
        f"{out.check('bulk_create of JSON rows', ratio <= REWRITE_JSON_OVER_TEXT)}); first "
        f"query after it: {num(first)} ms (≤ {REWRITE_FIRST_QUERY_MS:.0f} ms: "
        f"{out.check('no stall after it', first <= REWRITE_FIRST_QUERY_MS)}).",
        "",
    )


def _by_pool(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["pool"]: row for row in rows}


def pool(data: dict[str, Any], out: Out) -> None:
    rows: list[list[str]] = []
    b1 = _by_pool(data["B1"])
    for face in ("sync", "asyncio", "trio"):
        ours, theirs = b1.get(f"ours {face}"), b1.get(f"psycopg_pool {face}")
        if ours is None:
            continue
        if theirs is None:
            rows.append(
                [
                    f"B1 uncontended getconn + putconn p50, {face}",
                    f"{num(ours['p50_us'], 2)} µs",
                    "no such face",
                    "—",
                    "",
                    "",
                ]
            )
            continue
        rows.append(
            [
                f"B1 uncontended getconn + putconn p50, {face}",
                f"{num(ours['p50_us'], 2)} µs",
                f"{num(theirs['p50_us'], 2)} µs",
                times(ours["p50_us"] / theirs["p50_us"]),
                "≤ theirs",
                out.check(f"B1 {face}", ours["p50_us"] <= theirs["p50_us"]),
            ]
        )
    b2 = data["B2"]
    if b2:
        low = min(b2, key=lambda c: c["ratio"])
        below = [c for c in b2 if c["ratio"] < POOL_B2_RATIO]
        rows.append(
            [
                f"B2 getconn + `SELECT 1` + putconn, {len(b2)} cells: lowest ratio "
                f"({low['face']}, size {low['size']}, {low['workers']} clients)",
                f"{num(low['ours_ops_s'])} ops/s",
                f"{num(low['psycopg_pool_ops_s'])} ops/s",
                f"{low['ratio']:.2f} (range {min(c['ratio'] for c in b2):.2f}\u2013"
                f"{max(c['ratio'] for c in b2):.2f}; {len(below)} below)",
                f"≥ {POOL_B2_RATIO} in every cell",
                out.check("B2 every cell", not below),
            ]
        )
    b4 = _by_pool(data["B4"])
    ours4, theirs4 = b4.get("ours"), b4.get("psycopg_pool")
    if ours4 is not None:
        rows.append(
            [
                "B4 fairness, 32 threads, size 4: p99.9 wait / Little's law",
                f"{num(ours4['wait_p999_ms'], 2)} ms = {ours4['p999_over_expected']:.2f} "
                f"\u00d7 {num(ours4['littles_law_wait_ms'], 2)} ms",
                f"{num(theirs4['wait_p999_ms'], 2)} ms = {theirs4['p999_over_expected']:.2f} \u00d7"
                if theirs4
                else "—",
                times(ours4["p999_over_expected"]),
                f"≤ {POOL_B4_OVER_LITTLE:.0f} \u00d7 expected",
                out.check(
                    "B4 p99.9 ≤ 3 \u00d7 Little's law",
                    ours4["p999_over_expected"] <= POOL_B4_OVER_LITTLE,
                ),
            ]
        )
        if theirs4 is not None:
            rows.append(
                [
                    "B4 p99.9 wait, ours / psycopg_pool",
                    f"{num(ours4['wait_p999_ms'], 2)} ms",
                    f"{num(theirs4['wait_p999_ms'], 2)} ms",
                    times(ours4["wait_p999_ms"] / theirs4["wait_p999_ms"]),
                    "below theirs",
                    out.check(
                        "B4 p99.9 below psycopg_pool's",
                        ours4["wait_p999_ms"] < theirs4["wait_p999_ms"],
                    ),
                ]
            )
    b5 = _by_pool(data["B5"])
    ours5, theirs5 = b5.get("ours"), b5.get("psycopg_pool")
    if ours5 is not None and theirs5 is not None:

        def spike(r: dict[str, Any]) -> str:
            return (
                f"{r['served']} served in {num(r['all_served_ms'])} ms, "
                f"peak {r['peak_size']}, final {r['final_size']}"
            )

        rows.append(
            [
                "B5 spike (150 ms connect, 2 ms hold, 50 threads, min 5, max 20)",
                spike(ours5),
                spike(theirs5),
                f"peak {ours5['peak_size']} / {theirs5['peak_size']}",
                "no needless growth",
                out.check(
                    "B5 no needless growth",
                    ours5["served"] >= theirs5["served"]
                    and ours5["peak_size"] <= theirs5["peak_size"]
                    and ours5["final_size"] <= theirs5["final_size"],
                ),
            ]
        )
    b6 = _by_pool(data["B6"])
    ours6, theirs6 = b6.get("ours"), b6.get("psycopg_pool")
    if ours6 is not None:
        first = ours6["first_success_after_up_s"]
        their_first = theirs6["first_success_after_up_s"] if theirs6 else None
        rows.append(
            [
                f"B6 outage {num(ours6['down_s'])} s: first success after the server is back",
                "never" if first is None else f"{first:.3f} s",
                "—" if their_first is None else f"{their_first:.3f} s",
                times(first / their_first) if first is not None and their_first else "—",
                f"≤ {POOL_B6_FIRST_SUCCESS_S:.0f} s",
                out.check(
                    "B6 first success ≤ 1 s",
                    first is not None and first <= POOL_B6_FIRST_SUCCESS_S,
                ),
            ]
        )
    b7 = data["B7"]
    if b7:
        ours7 = [r for r in b7 if r["pool"].startswith("ours")]
        theirs7 = [r for r in b7 if not r["pool"].startswith("ours")]

        def leaks(rs: list[dict[str, Any]]) -> str:
            return ", ".join(
                f"{r['total_leaks']} leaks {r['pool'].split()[-1]} ({r['runs']} runs)" for r in rs
            )

        rows.append(
            [
                "B7 cancellation storm, 1,000 acquires a run (deadlines 0\u201350 ms), size 4",
                leaks(ours7),
                leaks(theirs7) or "—",
                "",
                "0 leaks",
                out.check(
                    "B7 no leaks",
                    all(r["total_leaks"] == 0 and r["max_waiting_after"] == 0 for r in ours7),
                ),
            ]
        )
    out.add(*table(["scenario", "ours", "psycopg_pool", "ratio", "target", "verdict"], rows), "")
    if b2:
        out.add(f"B2, every cell (ratio = ours / psycopg_pool; target ≥ {POOL_B2_RATIO}):", "")
        out.add(
            *table(
                ["face", "size", "clients", "ours ops/s", "psycopg_pool ops/s", "ratio", "verdict"],
                [
                    [
                        c["face"],
                        str(c["size"]),
                        str(c["workers"]),
                        num(c["ours_ops_s"]),
                        num(c["psycopg_pool_ops_s"]),
                        f"{c['ratio']:.2f}",
                        verdict(c["ratio"] >= POOL_B2_RATIO),
                    ]
                    for c in b2
                ],
                "lrrrrrl",
            ),
            "",
        )
    out.image("pool.png", "B4 fairness: getconn wait by percentile, ours against psycopg_pool")

    def draw(path: Path) -> None:
        plt = _pyplot()
        faces = list(dict.fromkeys(c["face"] for c in b2))
        fig, axes = plt.subplots(1, len(faces), figsize=(5 * len(faces), 4), squeeze=False)
        for ax, face in zip(axes[0], faces, strict=True):
            cells = [c for c in b2 if c["face"] == face]
            sizes = list(dict.fromkeys(c["size"] for c in cells))
            clients = list(dict.fromkeys(c["workers"] for c in cells))
            width = 0.8 / max(len(sizes), 1)
            for i, size in enumerate(sizes):
                ratios = {c["workers"]: c["ratio"] for c in cells if c["size"] == size}
                xs = [j + (i - (len(sizes) - 1) / 2) * width for j in range(len(clients))]
                ax.bar(xs, [ratios.get(n, 0) for n in clients], width, label=f"size {size}")
            ax.axhline(POOL_B2_RATIO, color="grey", linestyle="--", label="target 0.9")
            ax.axhline(1.0, color="black", linewidth=0.5)
            ax.set_xticks(range(len(clients)), [str(n) for n in clients])
            ax.set_xlabel("clients (threads or tasks)")
            ax.set_ylabel("ours / psycopg_pool throughput")
            ax.set_ylim(
                min(0.6, *(c["ratio"] - 0.1 for c in cells)),
                max(1.35, *(c["ratio"] + 0.2 for c in cells)),
            )
            ax.set_title(f"B2, {face}")
            ax.legend(loc="upper right", ncol=3)
        _save(fig, path)

    if b2:
        out.image("pool_b2.png", "B2: throughput ratio to psycopg_pool, every cell", draw)


def orm(data: dict[str, Any], out: Out) -> None:
    target = float((data.get("reads_target") or {}).get("max_ratio", ORM_READ_RATIO))
    rows = []
    for label, r in data["ops"].items():
        read = label in ORM_READS
        overhead = r.get("backend_overhead")
        refused = "refused" if r.get("refused", {}).get("pg_emu") else "—"
        rows.append(
            [
                f"`{label}`",
                f"{num(r['stock_direct_us'])} µs",
                refused
                if r.get("stock_via_emulator_us") is None
                else f"{num(r['stock_via_emulator_us'])} µs",
                f"{num(r['ours_us'])} µs",
                times(overhead) if overhead is not None else "—",
                f"≤ {target}" if read else "",
                out.check(f"`{label}` overhead", overhead is not None and overhead <= target)
                if read
                else "",
                times(r.get("total_vs_stock_direct")),
            ]
        )
    out.add(
        *table(
            [
                "operation",
                "stock direct",
                "stock via emulator",
                "ours (psycopg)",
                "ours / stock via emulator",
                "target",
                "verdict",
                "ours / stock direct",
            ],
            rows,
            "lrrrrllr",
        ),
        "",
    )
    em = data.get("emulator_select1")
    if em:
        out.add(
            f"The emulator's own cost per statement (`SELECT 1`, psycopg): "
            f"{num(em['overhead_us'])} µs ({num(em['through_emulator_us'])} µs through it, "
            f"{num(em['direct_us'])} µs direct); ours / stock direct includes it.",
            "",
        )
    trips = data.get("create_round_trips") or {}
    if trips:
        psycopg_trips = trips.get("psycopg")
        rows = [
            [
                "psycopg (default)",
                num(psycopg_trips),
                f"≤ {ORM_CREATE_ROUND_TRIPS}",
                out.check(
                    "`create()` round trips",
                    psycopg_trips is not None and psycopg_trips <= ORM_CREATE_ROUND_TRIPS,
                ),
            ]
        ]
        rows += [
            [driver, num(n), "(the target is for the default driver)", ""]
            for driver, n in trips.items()
            if driver != "psycopg"
        ]
        out.add(
            "`create()` round trips through the emulator:",
            "",
            *table(["driver", "round trips", "target", "verdict"], rows, "lrll"),
            "",
        )


def drivers(data: dict[str, Any], out: Out) -> None:
    rows = [
        [
            f"`{label}`",
            f"{num(r['ours_us'])} µs",
            f"{num(r['ours_redshift_connector_us'])} µs",
            times(r.get("rc_vs_psycopg")),
        ]
        for label, r in data["ops"].items()
    ]
    out.add(
        "From the ORM benchmark's JSON (`benchmarks/results/orm.json`), both drivers through "
        "the emulator. Issue #8 sets no speed target; these are for information.",
        "",
        *table(
            [
                "operation",
                "ours, psycopg",
                "ours, redshift_connector",
                "redshift_connector / psycopg",
            ],
            rows,
            "lrrr",
        ),
        "",
    )
    trips = data.get("create_round_trips") or {}
    if trips:
        out.add(
            "`create()` round trips: "
            + ", ".join(f"{num(n)} ({driver})" for driver, n in trips.items())
            + ".",
            "",
        )


def _is_prior_art(label: str, run: dict[str, Any]) -> bool:
    return run.get("engine") == "django_redshift_backend" or label.startswith(
        "django-redshift-backend"
    )


def bulk_create(data: dict[str, Any], out: Out) -> None:
    runs: dict[str, dict[str, Any]] = data["runs"]
    prior_art = data.get("prior_art") or {}
    if prior_art or data.get("rows"):
        versions = ", ".join(f"{name} {v}" for name, v in prior_art.items())
        out.add(
            f"{num(data.get('rows'))} rows ({data.get('model', 'model not recorded')}), "
            f"{num(data.get('repeat'))} interleaved runs a way; the prior art: "
            f"{versions or 'versions not recorded'}.",
            "",
        )
    prior = next((r for label, r in runs.items() if _is_prior_art(label, r)), None)
    prior_best = max((v for v in (prior or {}).get("all_rows_per_s") or [] if v), default=None)
    rows = []
    for label, r in runs.items():
        each = [v for v in r.get("all_rows_per_s") or [] if v]
        if "error" in r:
            error = str(r["error"])[:200].replace("|", "\\|").replace("\n", " ")
            rows.append([label, f"error: {error}", "", "", "", "", "", "", ""])
            if not _is_prior_art(label, r):
                out.check(f"{label} ≥ 1.0 \u00d7", False)
            continue
        judged = not _is_prior_art(label, r)
        ratio = r.get("vs_prior_art")
        worst = min(each) / prior_best if each and prior_best and judged else None
        rows.append(
            [
                label,
                num(r.get("rows_per_s")),
                times(ratio),
                times(worst) if worst is not None else "",
                num(r.get("pks_set")),
                num(r.get("emulator_round_trips")),
                ", ".join(num(v) for v in each),
                f"≥ {BULK_VS_PRIOR_ART:.1f} \u00d7" if judged else "anchor",
                out.check(f"{label} ≥ 1.0 \u00d7", ratio is not None and ratio >= BULK_VS_PRIOR_ART)
                if judged
                else "",
            ]
        )
    out.add(
        *table(
            [
                "way",
                "rows/s (median run)",
                "vs prior art",
                "slowest run vs prior art's fastest",
                "pks set on the objects",
                "round trips",
                "rows/s of each run",
                "target",
                "verdict",
            ],
            rows,
            "lrrrrrlll",
        ),
        "",
    )

    def draw(path: Path) -> None:
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(7, 4))
        for label, r in runs.items():
            each = r.get("all_rows_per_s") or []
            xs = [i + 1 for i, v in enumerate(each) if v]
            ax.plot(xs, [v for v in each if v], marker="o", label=label)
        ax.set_xticks(
            range(
                1, 1 + max((len(r.get("all_rows_per_s") or []) for r in runs.values()), default=1)
            )
        )
        ax.set_xlabel("run (the ways interleaved)")
        ax.set_ylabel("rows/s")
        ax.set_ylim(bottom=0)
        ax.set_title(f"bulk_create of {data.get('rows', 0):,} rows, each run")
        ax.legend(loc="lower right")
        _save(fig, path)

    if any(r.get("all_rows_per_s") for r in runs.values()):
        out.image("bulk_create.png", "bulk_create: rows/s of each run, the three ways", draw)


def async_orm(data: dict[str, Any], out: Out) -> None:
    c = data["concurrency"]
    rows = [
        [
            f"{c['tasks']} tasks \u00d7 (filtered `acount()` + 100-row iteration), "
            f"emulator latency {c['latency_ms']} ms, async pool max {c['pool_max']}",
            f"{c['native_s']:.3f} s",
            f"Django's a-methods {c['django_s']:.3f} s",
            f"{c['speedup']:.1f} \u00d7 faster",
            f"≥ {ASYNC_SPEEDUP:.0f} \u00d7",
            out.check("concurrency speed-up", c["speedup"] >= ASYNC_SPEEDUP),
        ]
    ]
    overhead: dict[str, dict[str, Any]] = data["overhead"]
    for label, r in overhead.items():
        rows.append(
            [
                f"latency 0, {label}",
                f"{num(r['native_us'])} µs",
                f"raw psycopg `AsyncConnection` {num(r['raw_us'])} µs",
                times(r["ratio"]),
                f"≤ {ASYNC_VS_RAW} \u00d7",
                out.check(f"{label} ≤ {ASYNC_VS_RAW} \u00d7", r["ratio"] <= ASYNC_VS_RAW),
            ]
        )
    out.add(
        *table(["measure", "native", "anchor", "result", "target", "verdict"], rows, "lrrrll"),
        "",
    )
    parts = [
        (label, r)
        for label, r in overhead.items()
        if r.get("django_sync_us") is not None and r.get("layer_us") is not None
    ]
    if parts:
        out.add(
            *wrap(
                "Where the time goes (no target): each way's time per query and its ratio to "
                "raw psycopg. *Async layer alone*: a connection from the async pool running "
                "the compiled SQL, no Django; *Django sync ORM*: the same ORM call, sync, on "
                "the same backend (Django compiling the query and building the results)."
            ),
            "",
            *table(
                ["query", "raw psycopg", "async layer alone", "Django sync ORM", "native"],
                [
                    [
                        label,
                        f"{num(r['raw_us'])} µs",
                        f"{num(r['layer_us'])} µs ({times(r['layer_ratio'])})",
                        f"{num(r['django_sync_us'])} µs ({times(r['sync_vs_raw'])})",
                        f"{num(r['native_us'])} µs ({times(r['ratio'])})",
                    ]
                    for label, r in parts
                ],
                "lrrrr",
            ),
            "",
        )


# -- what each section is ----------------------------------------------------------------


@dataclass(frozen=True)
class Bench:
    key: str  # notes/<key>.md
    title: str
    issue: int
    results: str  # file in results/
    module: str  # python -m benchmarks.<module>
    method: str
    render: Callable[[dict[str, Any], Out], None]


BENCHES = [
    Bench(
        "emulator",
        "Emulator",
        3,
        "emulator.json",
        "emulator_bench",
        "`python -m benchmarks.emulator_bench [--upstream URL]` (`--quick` prints but writes no "
        "JSON). Ours: psycopg 3 through the emulator, run as its command-line server in a "
        "process of its own; the anchor: the same PostgreSQL directly (the embedded server "
        "unless `--upstream` is given; the emulator reaches it over its Unix socket). Latency: "
        "one connection runs `SELECT 1` (simple protocol) and a small parameterized SELECT "
        "(extended protocol) 20,000 times each, in alternating blocks of 500 against each "
        "side; p50 and p95 per side, the added p50 is the difference. Throughput: 16 "
        "clients run `SELECT 1` for 2 s, as Python threads (psycopg) and as pgbench (C, "
        "extended protocol): directly, through one emulator process, through `--workers N` "
        "(one per core, at least 2), and through PgBouncer (session mode, a C proxy for "
        "reference), 8 rounds whose order rotates; each ratio is the median of the per-round "
        "ratios to direct. CPU per query: the proxy's processes and the whole machine "
        "(/proc). Stall (issue #17; `--only stall` runs it alone): while one client's long "
        "statement (a 16 MB string literal, 1 MB of JSON rows) is rewritten, another sends "
        "`SELECT 1` every 10 ms; its worst and p99 latency, with the rewrite on the event "
        "loop, in a thread, in the process pool (the default) and with `--workers 2`, beside "
        "the same client while nothing else runs. Targets: added p50 ≤ 150 µs; throughput "
        "with 16 clients ≥ 70 % of direct; the other client's `SELECT 1` ≤ 50 ms.",
        emulator,
    ),
    Bench(
        "emulator_rewrite",
        "Emulator rewrite cost",
        17,
        "emulator_rewrite.json",
        "emulator_bench",
        "`python -m benchmarks.emulator_bench --only rewrite` (see `benchmarks/_rewrite_cost.py`). "
        "In process: `rules.rewrite` of one multi-row INSERT of 1,000, 2,000 and 4,000 rows as "
        "the backend writes it (quoted names; text, or `JSON_PARSE(...)` for SUPER; a backslash "
        "as `' || CHR(92) || '`), ASCII and non-ASCII, each run with an empty rewrite cache, the "
        "best of 3 (of up to 50 when runs are short) in CPU time; growth is "
        "the cost per row of the largest over the smallest (1.0 linear, 4.0 quadratic). End to "
        "end: Django `bulk_create` of 10,000 rows through the command-line emulator, a "
        "JSONField against the same documents in a TextField, alternating, 3 runs each "
        "(medians); then the emulator's CPU in the idle second after and the first `SELECT 1`. "
        "Targets (issue #17): linear whatever the characters; JSON within 2 \u00d7 text; no "
        "stall after it.",
        emulator_rewrite,
    ),
    Bench(
        "pool",
        "Connection pool",
        7,
        "pool.json",
        "pool_bench",
        "`python -m benchmarks.pool_bench [--dsn URL]`: ours (`pool.ConnectionPool` and "
        "`AsyncConnectionPool`, sync, asyncio and trio) against psycopg_pool on the same "
        "PostgreSQL (embedded unless given). B1: one connection, 100,000 getconn + putconn, "
        "p50, median of 5 repetitions. B2: 1, 4, 16 or 64 threads/tasks doing getconn + "
        "`SELECT 1` + putconn on pools of 4 and 16; for each cell both pools are open side by "
        "side and run 12 pairs of 0.5 s runs, alternating which goes first; ratio = the "
        "median of the pairs' ours / psycopg_pool (drift between pairs cancels out). B4: 32 "
        "threads on 4 "
        "connections for 5 s, 5 runs alternating which pool goes first, medians (the plot "
        "shows the run with the median p99.9); the getconn wait's p99.9 against Little's "
        "law's expected wait "
        "((32 - 4) / throughput). B5: 50 threads at once, each holding a connection 2 ms, on "
        "a pool of min 5, max 20 whose connections take 150 ms to open; judged against "
        "psycopg_pool: ours must serve every request and grow no larger (peak and final "
        "size). B6: the server vanishes for 5 s behind a TCP forwarder; time from its return "
        "to the first successful query. B7: 10 runs of 1,000 asyncio/trio acquires with "
        "deadlines of 0\u201350 ms on a pool of 4; connections not returned are leaks. Targets: "
        "B1 p50 ≤ psycopg_pool's; B2 ratio ≥ 0.9 in every cell; B4 p99.9 ≤ 3 \u00d7 Little's law "
        "and below psycopg_pool's; B5 no needless growth; B6 ≤ 1 s; B7 0 leaks.",
        pool,
    ),
    Bench(
        "orm",
        "ORM per-query overhead",
        4,
        "orm.json",
        "orm_bench",
        "`python -m benchmarks.orm_bench --upstream postgresql://…`: one upstream PostgreSQL, "
        "four ways in: Django's stock PostgreSQL backend direct; the same stock backend "
        "through the emulator (`benchmarks/stock_pg_via_emulator`: the stock backend minus "
        "its server version check, for this benchmark only); ours with psycopg and ours with "
        "redshift_connector, through the emulator (ours speaks Redshift's SQL, so it needs "
        "the emulator). Each operation runs 1,000 times in 5 interleaved rounds; the median. "
        "Ours / stock via emulator is the backend's own overhead (both pay the emulator); "
        "ours / stock direct is the total. `create()`'s round trips are counted by the "
        "emulator. Targets: reads ≤ 1.15 \u00d7 stock; `create()` ≤ 2 round trips.",
        orm,
    ),
    Bench(
        "bulk_create",
        "bulk_create against django-redshift-backend",
        4,
        "bulk_create.json",
        "bulk_create_bench",
        "`python -m benchmarks.bulk_create_bench --upstream postgresql://… [--repeat N]`: "
        "`bulk_create()` of 100,000 rows (a model of 4 fields and the pk) through the "
        "emulator, each way in a process of its own (`benchmarks/_bulk_runner.py`). The "
        "anchor: django-redshift-backend 5.0.0 (the prior art; Django 5.1 and psycopg2, in "
        "its own virtual environment, `.benchmarks-venv/drb`); ours with psycopg and with "
        "redshift_connector from this environment. The ways run interleaved, 3 runs each "
        "unless `--repeat` says otherwise; each way's median run is reported, with the "
        "emulator's round trips and the number of objects that got their pk. Target: ≥ 1.0 \u00d7 "
        "the prior art's rows/s.",
        bulk_create,
    ),
    Bench(
        "create",
        "create() against django-redshift-backend",
        16,
        "create.json",
        "create_bench",
        "`python -m benchmarks.create_bench --upstream postgresql://… [--repeat N]`: each way in "
        "a process of its own (`benchmarks/_create_runner.py`) through one emulator, with no "
        "added latency and with `Emulator(latency_ms=20)`: the median of 200 `create()` calls "
        "one at a time, then 8 threads x 40 `create()` calls, each thread on its own "
        "connection, every returned id checked against the row the call wrote. The anchor: "
        "django-redshift-backend 5.0.0 (`SELECT MAX(pk)` after an unlocked INSERT; its own "
        'virtual environment, `.benchmarks-venv/drb`); ours with `last_insert_id="lock"` '
        "(pk from the high-water mark under the table lock, one batch) on psycopg and "
        "redshift_connector. A third setting turns the upstream's `synchronous_commit` off "
        "for both sides, to show the share of the commit's fsync, which PostgreSQL makes "
        "while it still holds the transaction's locks. Target: concurrent creates ≥ 0.8 \u00d7 "
        "the prior art's rate with 0 wrong ids.",
        create,
    ),
    Bench(
        "drivers",
        "Drivers side by side",
        8,
        "orm.json",
        "orm_bench",
        "From the ORM benchmark's run (`python -m benchmarks.orm_bench`): the same operations "
        "through the emulator with this backend on psycopg 3 and on redshift_connector.",
        drivers,
    ),
    Bench(
        "async",
        "Native async ORM",
        9,
        "async.json",
        "async_bench",
        "`python -m benchmarks.async_bench [--upstream URL]` (embedded PostgreSQL unless "
        "given), through the in-process emulator. Concurrency: 64 tasks, each a filtered "
        "`acount()` and a 100-row `async for`, with the emulator adding 20 ms to every "
        "statement and the async pool at max 16; ours is the native path "
        "(`aio.AsyncManager`), the anchor Django's own a-methods (`sync_to_async` into one "
        "thread) on the same backend; the best of 5 bursts each. Overhead: with no added "
        "latency, the median time per query over 1,000 of the native path against raw "
        "psycopg `AsyncConnection` running the same compiled SQL (rows fetched as tuples, "
        "no models), with the async layer alone (pooled connection, compiled SQL) in "
        "alternating blocks of 100, and Django's sync ORM after. Targets: ≥ 10 \u00d7 Django's "
        "a-methods at 20 ms; per query ≤ 1.3 \u00d7 raw psycopg.",
        async_orm,
    ),
]


# -- the report --------------------------------------------------------------------------


@dataclass
class Rendered:
    bench: Bench
    lines: list[str]
    status: str  # "ran", "not run", "unreadable"
    checks: list[tuple[str, bool]]
    date: str | None


def note(notes_dir: Path, key: str) -> list[str]:
    path = notes_dir / f"{key}.md"
    if not path.exists():
        return []
    text = path.read_text().strip("\n")
    return text.split("\n") if text else []


def render_section(
    bench: Bench, results_dir: Path, notes_dir: Path, out_path: Path, plots: bool
) -> Rendered:
    lines = [f"## {bench.title} (issue #{bench.issue})", ""]
    lines += [*wrap("**Method.** " + bench.method), ""]
    path = results_dir / bench.results
    out = Out(results_dir, out_path, plots)
    status, date = "ran", None
    if not path.exists():
        status = "not run"
        lines += [
            *wrap(
                f"**Not run yet:** there is no `{path.name}` in the results. "
                f"`python -m benchmarks.{bench.module}` (or `hatch run bench`) runs it; "
                "`python -m benchmarks.report` then rewrites this file."
            ),
            "",
        ]
    else:
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict):
                raise TypeError("not a JSON object")
            run_part = run_lines(data, bench.module)
            bench.render(data, out)
            date = (data.get("run") or {}).get("date")
            lines += run_part + out.lines
        except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError) as exc:
            status = "unreadable"
            out.checks.clear()
            lines += [
                *wrap(
                    f"**Could not read** `{path.name}` ({type(exc).__name__}: {exc}); run "
                    f"`python -m benchmarks.{bench.module}` again."
                ),
                "",
            ]
        if status == "ran" and out.checks:
            missed = [name for name, ok in out.checks if not ok]
            met = len(out.checks) - len(missed)
            lines += [
                *wrap(
                    f"**Targets:** {met} of {len(out.checks)} met"
                    + (f"; missed: {', '.join(missed)}." if missed else ".")
                ),
                "",
            ]
    body = note(notes_dir, bench.key)
    if body:
        lines += [f"### Notes (`benchmarks/notes/{bench.key}.md`)", "", *body, ""]
    return Rendered(bench, lines, status, list(out.checks), date)


def summary(sections: list[Rendered]) -> list[str]:
    rows = []
    for s in sections:
        if s.status != "ran":
            targets = s.status
        elif not s.checks:
            targets = "no target (for information)"
        else:
            missed = [name for name, ok in s.checks if not ok]
            targets = f"{len(s.checks) - len(missed)} of {len(s.checks)} met" + (
                f" (missed: {', '.join(missed)})" if missed else ""
            )
        rows.append(
            [
                s.bench.title,
                f"#{s.bench.issue}",
                (s.date[:10] if s.date else "not recorded") if s.status == "ran" else "—",
                targets,
            ]
        )
    return table(["benchmark", "issue", "run on", "targets"], rows)


def render(
    results_dir: Path = RESULTS_DIR,
    notes_dir: Path = NOTES_DIR,
    out_path: Path = OUT,
    plots: bool = True,
) -> str:
    sections = [render_section(b, results_dir, notes_dir, out_path, plots) for b in BENCHES]
    lines = [
        "# Benchmark results",
        "",
        "<!-- Generated by `python -m benchmarks.report` from benchmarks/results/*.json and "
        "benchmarks/notes/*.md: edit those, not this file. -->",
        "",
        *wrap(
            "Generated from `benchmarks/results/*.json` by `python -m benchmarks.report`; "
            "`hatch run bench` runs every benchmark and then regenerates this file. Each "
            "section gives the method, the run as its JSON records it, ours against the anchor "
            "with the issue's target and a verdict computed from the numbers, and then the "
            "hand-written notes (`benchmarks/notes/`), whose numbers come from the runs they "
            "name."
        ),
        "",
    ]
    intro = note(notes_dir, "intro")
    if intro:
        lines += [*intro, ""]
    lines += ["## Summary", "", *summary(sections), ""]
    for s in sections:
        lines += s.lines
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="the JSON files")
    parser.add_argument("--notes", type=Path, default=NOTES_DIR, help="the hand-written notes")
    parser.add_argument("--out", type=Path, default=OUT, help="the markdown file to write")
    parser.add_argument("--no-plots", action="store_true", help="draw no PNG")
    args = parser.parse_args(argv)
    text = render(args.results, args.notes, args.out, plots=not args.no_plots)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

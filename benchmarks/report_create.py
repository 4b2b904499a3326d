"""The ``create()`` section of ``benchmarks/RESULTS.md`` (``create_bench``'s JSON)."""

from __future__ import annotations

from typing import Any

#: Issue #16.4: concurrent creates at least this share of the prior art's unlocked rate.
CONCURRENT_VS_PRIOR_ART = 0.8


def create(data: dict[str, Any], out: Any) -> None:
    from benchmarks.report import num, table, times

    prior_art = data.get("prior_art") or {}
    versions = ", ".join(f"{name} {v}" for name, v in prior_art.items())
    out.add(
        f"Model: {data.get('model', 'not recorded')}; {num(data.get('threads'))} threads x "
        f"{num(data.get('creates_per_thread'))} creates; {num(data.get('repeat'))} "
        f"interleaved runs a way, the median run (by concurrent rate) shown; the prior art: "
        f"{versions or 'versions not recorded'}.",
        "",
    )
    total = (data.get("threads") or 0) * (data.get("creates_per_thread") or 0)
    rows = []
    for setting, ways in (data.get("latencies") or {}).items():
        for label, r in ways.items():
            judged = not label.startswith("django-redshift-backend")
            if "error" in r:
                error = str(r["error"])[:200].replace("|", "\\|").replace("\n", " ")
                rows.append([setting, label, f"error: {error}", "", "", "", "", "", "", ""])
                if judged:
                    out.check(f"{setting}, {label}", False)
                continue
            ratio = r.get("concurrent_vs_prior_art")
            ok = ratio is not None and ratio >= CONCURRENT_VS_PRIOR_ART and not r.get("wrong_ids")
            rows.append(
                [
                    setting,
                    label,
                    num(r.get("create_us")) + " µs",
                    times(r.get("create_time_vs_prior_art")),
                    num(r.get("concurrent_creates_per_s")),
                    times(ratio),
                    f"{num(r.get('wrong_ids'))} of {num(total)}",
                    ", ".join(num(v) for v in r.get("all_concurrent_creates_per_s") or [] if v),
                    f"≥ {CONCURRENT_VS_PRIOR_ART} \u00d7, 0 wrong" if judged else "anchor",
                    out.check(f"{setting}, {label}", ok) if judged else "",
                ]
            )
    out.add(
        *table(
            [
                "setting",
                "way",
                "create() (median of 200)",
                "vs prior art",
                "8 x 40 creates/s",
                "vs prior art",
                "wrong ids",
                "creates/s of each run",
                "target",
                "verdict",
            ],
            rows,
            "llrrrrrlll",
        ),
        "",
    )
    upserts = [
        [
            setting,
            label,
            _ms(r.get("bulk_create_1000_ms")),
            _ms(r.get(IGNORE_MS)),
            num(r.get("ignore_conflicts_rows_inserted")),
        ]
        for setting, ways in (data.get("latencies") or {}).items()
        for label, r in ways.items()
        if IGNORE_MS in r
    ]
    if upserts:
        out.add(
            "`bulk_create(ignore_conflicts=True)` of 1,000 rows with explicit pks, 500 of them "
            "taken (issue #20 item 4; no target), beside a plain `bulk_create` of 1,000 new "
            "rows, in the same run (ms):",
            "",
            *table(
                ["setting", "way", "bulk_create", "ignore_conflicts", "rows inserted"],
                upserts,
                "llrrr",
            ),
            "",
        )


IGNORE_MS = "ignore_conflicts_1000_half_taken_ms"


def _ms(value: Any) -> str:
    from benchmarks.report import num

    return num(value) if isinstance(value, int | float) else str(value or "")

"""The emulator's rewrite cost (issue #17 item 4): the ``rewrite`` section of emulator_bench.

* in process: ``rules.rewrite`` of one multi-row INSERT of 1,000, 2,000 and 4,000 rows, as
  the backend's ``bulk_create`` writes it (quoted names; text literals, or ``JSON_PARSE('...')``
  for a SUPER column; a backslash as ``' || CHR(92) || '``), with ASCII and with non-ASCII
  text. Each run starts with an empty rewrite cache; the best of 3 runs (of up to 50 when
  a run is short), in CPU time.
  Linear means the cost per row stays flat as the statement grows: ``growth`` is the cost per
  row of the largest statement over that of the smallest (1.0 is linear, 4.0 quadratic).
  ``garbage`` is what a full ``gc.collect()`` finds and costs after the largest JSON rewrite:
  cyclic garbage left by the rewrite, which the collector pays for later, during some other
  statement.
* end to end: Django ``bulk_create`` of 10,000 rows through the emulator's command-line
  server, a JSONField (SUPER, ``JSON_PARSE``) against the same documents in a TextField, in
  alternating runs; wall time and the emulator's CPU. Then the first ``SELECT 1`` after it,
  and the emulator's CPU in the idle second between (a stall shows here).
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

SIZES = (1000, 2000, 4000)
# A rewrite slower than this is not run at the next size (quadratic ones take minutes).
BUDGET_S = 30.0
JSON_ROWS_TARGET = 2.0  # bulk_create of JSON rows within 2x the same rows as text


def _quote(value: str) -> str:
    # As the backend's drivers/psycopg.py quote_str: quotes doubled, a backslash CHR(92).
    body = value.replace("'", "''")
    if "\\" not in body:
        return "'" + body + "'"
    return "('" + body.replace("\\", "' || CHR(92) || '") + "')"


def _text(i: int, ascii_only: bool) -> str:
    word = "hello world" if ascii_only else "héllo wörld ñ €"
    return f"row {i} {word} {word} {word}"


def _doc(i: int, ascii_only: bool) -> dict[str, Any]:
    return {"k": i, "name": _text(i, ascii_only), "tags": ["a", "b"], "n": {"x": i % 7}}


def _insert(rows: list[str]) -> str:
    return 'INSERT INTO "bench_row" ("id", "doc", "created_at") VALUES ' + ", ".join(rows)


def statement(kind: str, rows: int) -> str:
    """One multi-row INSERT of ``rows`` rows of ``kind`` (a key of :data:`KINDS`)."""
    return _insert([KINDS[kind](i) for i in range(rows)])


def _row(i: int, value: str) -> str:
    return f"({i}, {value}, '2024-01-01 00:00:{i % 60:02d}')"


KINDS: dict[str, Callable[[int], str]] = {
    "text, ASCII": lambda i: _row(i, _quote(_text(i, True))),
    "text, non-ASCII": lambda i: _row(i, _quote(_text(i, False))),
    "JSON_PARSE, ASCII": lambda i: _row(i, f"JSON_PARSE({_quote(json.dumps(_doc(i, True)))})"),
    "JSON_PARSE, non-ASCII": lambda i: _row(
        i, f"JSON_PARSE({_quote(json.dumps(_doc(i, False), ensure_ascii=False))})"
    ),
    # A JSON value with escaped quotes: each backslash a ' || CHR(92) || ' (deep trees).
    "JSON_PARSE, 20 escaped quotes": lambda i: _row(
        i, f"JSON_PARSE({_quote(json.dumps({'q': chr(34) * 20, 'i': i}))})"
    ),
}


def _time_rewrite(sql: str, runs: int) -> tuple[float | None, str | None]:
    """The best of ``runs`` rewrites (more when each is short, so that a millisecond's
    noise does not pass for growth); or the error a rewrite raised."""
    from redshift_async_backend.emulator import rules

    state = rules.SessionState()
    best: float | None = None
    spent, done = 0.0, 0
    while done < runs or (spent < 0.3 and done < 50):
        _clear_cache(rules)
        began = time.process_time()  # CPU: a loaded machine's waits do not count
        try:
            rules.rewrite(sql, state)
        except Exception as exc:  # recorded: a rewrite that fails is a finding
            return None, f"{type(exc).__name__}: {str(exc)[:120]}"
        took = time.process_time() - began
        best = took if best is None else min(best, took)
        spent, done = spent + took, done + 1
        if took > BUDGET_S / 3:
            break
    return best, None


def _clear_cache(rules: Any) -> None:
    """Each run rewrites afresh (statements under 64 KB would be answered from the cache)."""
    for holder in (rules, getattr(rules, "pipeline", None)):
        for name in ("_cached",):
            cached = getattr(holder, name, None)
            if cached is not None and hasattr(cached, "cache_clear"):
                cached.cache_clear()


def in_process(sizes: tuple[int, ...] = SIZES, runs: int = 3) -> dict[str, Any]:
    out: dict[str, Any] = {"sizes": list(sizes), "kinds": {}}
    for kind in KINDS:
        row: dict[str, Any] = {}
        for rows in sizes:
            sql = statement(kind, rows)
            seconds, error = _time_rewrite(sql, runs)
            cell: dict[str, Any] = {"bytes": len(sql.encode())}
            if error is not None:
                cell["error"] = error
            else:
                assert seconds is not None
                cell.update(seconds=round(seconds, 4), us_per_row=round(seconds / rows * 1e6, 1))
            row[str(rows)] = cell
            if error is not None or (seconds or 0.0) > BUDGET_S / 3:
                break
        done = [row[str(n)] for n in sizes if "us_per_row" in row.get(str(n), {})]
        if len(done) >= 2 and done[0]["us_per_row"]:
            row["growth"] = round(done[-1]["us_per_row"] / done[0]["us_per_row"], 2)
        out["kinds"][kind] = row
    out["garbage"] = garbage_after(statement("JSON_PARSE, ASCII", max(sizes)))
    out["cached_plain_us"] = cached_plain_us()
    return out


def garbage_after(sql: str) -> dict[str, Any]:
    """Cyclic garbage one rewrite leaves behind: objects found and the collection's cost."""
    from redshift_async_backend.emulator import rules

    gc.collect()
    gc.disable()
    try:
        rules.rewrite(sql, rules.SessionState())
        began = time.process_time()
        found = gc.collect()
        return {"objects": found, "collect_ms": round((time.process_time() - began) * 1e3, 1)}
    finally:
        gc.enable()


def cached_plain_us(n: int = 200_000) -> float:
    from redshift_async_backend.emulator import rules

    state = rules.SessionState()
    sql = "SELECT 1"
    rules.rewrite(sql, state)
    began = time.perf_counter()
    for _ in range(n):
        rules.rewrite(sql, state)
    return round((time.perf_counter() - began) / n * 1e6, 2)


# -- end to end ---------------------------------------------------------------------------


def _django(url: str) -> None:
    import django
    from django.conf import settings

    if settings.configured:
        return
    parts = urlsplit(url)
    settings.configure(
        SECRET_KEY="bench",
        USE_TZ=True,
        INSTALLED_APPS=[],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        DATABASES={
            "default": {
                "ENGINE": "redshift_async_backend",
                "NAME": parts.path.lstrip("/") or "postgres",
                "USER": parts.username or "postgres",
                "PASSWORD": parts.password or "",
                "HOST": parts.hostname or "127.0.0.1",
                "PORT": str(parts.port or 5439),
                "OPTIONS": {"pool": False},
            }
        },
    )
    django.setup()


def end_to_end(
    url: str, cpu: Callable[[], float | None], rows: int = 10_000, repeat: int = 3
) -> dict[str, Any]:
    """bulk_create of ``rows`` JSON documents against the same documents as text."""
    _django(url)
    from django.db import connection, models

    class BenchJson(models.Model):
        n = models.IntegerField()
        doc = models.JSONField()

        class Meta:
            app_label = "rewritebench"

    class BenchText(models.Model):
        n = models.IntegerField()
        doc = models.TextField()

        class Meta:
            app_label = "rewritebench"

    docs = [_doc(i, False) for i in range(rows)]
    cases: dict[str, tuple[type[models.Model], Callable[[], list[models.Model]]]] = {
        "json": (BenchJson, lambda: [BenchJson(n=i, doc=d) for i, d in enumerate(docs)]),
        "text": (
            BenchText,
            lambda: [BenchText(n=i, doc=json.dumps(d)) for i, d in enumerate(docs)],
        ),
    }
    with connection.schema_editor() as editor:
        for model, _ in cases.values():
            editor.create_model(model)
    runs: dict[str, list[dict[str, float | None]]] = {name: [] for name in cases}
    try:
        for r in range(repeat):
            order = list(cases) if r % 2 == 0 else list(reversed(cases))
            for name in order:
                model, make = cases[name]
                objs = make()
                model.objects.all().delete()
                cpu0, began = cpu(), time.perf_counter()
                model.objects.bulk_create(objs)
                wall = time.perf_counter() - began
                cpu1 = cpu()
                time.sleep(1.0)  # the client and the server are idle now
                cpu2 = cpu()
                began = time.perf_counter()
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
                    cursor.fetchall()
                first_ms = (time.perf_counter() - began) * 1e3
                cpu3 = cpu()
                runs[name].append(
                    {
                        "seconds": wall,
                        "emulator_cpu_s": _diff(cpu0, cpu1),
                        "idle_cpu_s": _diff(cpu1, cpu2),
                        "first_query_ms": first_ms,
                        "first_query_cpu_s": _diff(cpu2, cpu3),
                    }
                )
    finally:
        with connection.schema_editor() as editor:
            for model, _ in cases.values():
                editor.delete_model(model)
        connection.close()
    out: dict[str, Any] = {"rows": rows, "repeat": repeat}
    for name, values in runs.items():
        out[name] = {key: _median([v[key] for v in values]) for key in values[0]}
    out["json_over_text"] = round(out["json"]["seconds"] / out["text"]["seconds"], 2)
    out["target"] = JSON_ROWS_TARGET
    return out


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 4) if known else None

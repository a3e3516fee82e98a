"""``nianbao bench``: the whole pipeline over N realistic reports, against three baselines.

For each N the benchmark

1. generates N filled reports of a made-up province (N agencies) in the mix of real
   submissions: 10 % with an error (the typical mistakes of :mod:`flows.steps.sample`),
   half with a warning (narrative empty, short, contradicting the tables or naming last
   year; a tenfold jump against last year's report), narratives of real length, totals
   as formulas with cached values (as Excel, WPS or LibreOffice save them), as formulas
   without (as a program writes them) or as plain values; plus last year's reports of
   some agencies, put in the ledger before the measured run.  Generated files are kept in
   ``WORKDIR/files/`` keyed by N, seed and generator, so that a rerun reuses them;
2. runs the pipeline over them as the flow's tasks call it — the plain
   functions :func:`flows.intake.intake` and :func:`flows.rollup.write_year_outputs`
   (rollup, status, findings, feedback workbooks, Great Expectations reports,
   index page) — in a fresh child process, timing imports apart;
3. runs it again with nothing new (everything already in the ledger), in
   another fresh child process;
4. times three baselines on the same files, each in its own child process:
   openpyxl in read-only mode touching the named cells, python-calamine (the
   practical floor of reading an .xlsx from Python) and a naive script
   (``pandas.read_excel(sheet_name=None)`` per file, summing the numbers,
   no checks);
5. once, the Prefect flow itself on the temporary local server: the server's
   start-up, then a flow run and a run with nothing new, against the plain
   functions on the same files.

Peak memory is the peak resident set size of each child process (``VmHWM``
from ``/proc/self/status``: ``ru_maxrss`` without the parent's pages that a
child counts between fork and exec), a fresh interpreter per measurement, so
one never inflates another.  The worker processes (the reader ahead of the intake,
the feedback workbooks) return their own ``VmHWM`` with each result: ``ru_maxrss``
of the children would count the parent's pages they share before exec.
Results are printed as a table and written to ``WORKDIR/bench-results.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import inspect
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from nianbao.flows.progress import Progress

DEFAULT_NS = (60, 1_000, 10_000)
DEFAULT_SEED = 2024
DEFAULT_WORKDIR = "var/bench"
YEAR = 2024
FAULTY_SHARE = 0.10  # reports with an error (the typical mistakes of flows/steps/sample.py)
WARNING_SHARE = 0.50  # reports with a warning: narrative empty, short or against the tables, a jump on last year
LAST_YEAR_SHARE = 0.20  # agencies (besides those with a jump) whose last year's report is in the ledger
STYLES = ("cached", "formulas", "values")
STYLE_SHARES = {
    "cached": 0.60,  # totals as formulas with cached values: saved by Excel, WPS or LibreOffice
    "formulas": 0.25,  # totals as formulas without cached values: written by a program (openpyxl)
    "values": 0.15,  # a plain value in every cell (pasted as values, or totals typed over)
}
GENERATOR = 2  # bumped when the generated mix changes: cached folders of another generator are not reused
CHUNK = 250  # reports generated per task of the generator's process pool
RESULTS_FILE = "bench-results.json"
COMPLETE_MARK = ".complete"

# --------------------------------------------------------------------------
# A made-up province: N agencies, about 41 per county
# --------------------------------------------------------------------------

def _departments() -> tuple[str, ...]:
    """The sample county's 41 agencies without the county's name."""
    from nianbao.flows.steps.sample import AGENCIES, COUNTY

    return tuple(name.removeprefix(COUNTY).removeprefix(COUNTY[:-1]) for name in AGENCIES)


def county_name(index: int) -> str:
    return f"示例{index + 1:03d}县"


def province(n: int) -> list:
    """N agencies (name, USCC) of a made-up province: 41 departments in each county, USCCs unique and valid."""
    from nianbao.schemas.uscc import complete

    from nianbao.flows.steps.sample import Agency

    departments = _departments()
    out = []
    for i in range(n):
        county, dept = divmod(i, len(departments))
        division = 500_000 + county  # six digits, a made-up administrative division
        out.append(Agency(f"{county_name(county)}{departments[dept]}", complete(f"11{division:06d}MB{i:07d}")))
    return out


def _number_of(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0  # text in a number cell (3件): a spreadsheet's SUM counts it as nothing


def with_cached_totals(data: bytes, values: dict) -> bytes:
    """A workbook whose total formulas carry cached values, as a spreadsheet application saves them.

    ``data`` was written with formulas for the totals not in ``values`` (no cached values, as openpyxl
    writes them); each formula's ``<v>`` gets the sum of its parts (text counting as nothing)."""
    import io
    import re
    import zipfile

    from nianbao.flows.excel.package import Package
    from nianbao.schemas.form import FORM
    from nianbao.schemas.layout import LAYOUT, a1

    def total(code: str) -> float:
        if code in values or code not in FORM.sums:
            return _number_of(values.get(code))
        return sum(total(p) for p in FORM.sums[code])

    parts = {s.name: s.part for s in Package(data).sheets}
    cached: dict[str, dict[str, str]] = {}
    for code in FORM.sums:
        if code in values:
            continue
        sheet, row, col = LAYOUT.place(code)
        v = total(code)
        cached.setdefault(parts[sheet], {})[a1(row, col)] = str(int(v)) if v == int(v) else repr(v)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info)
            if info.filename in cached:
                refs = cached[info.filename]
                body = re.sub(rb'(<c r="([A-Z]+[0-9]+)"[^>]*>)(<f>[^<]*</f>)<v\s*(?:/>|></v>)',
                              lambda m: m.group(1) + m.group(3) + b"<v>" + refs.get(m.group(2).decode(), "").encode()
                              + b"</v>" if m.group(2).decode() in refs else m.group(0), body)
            zout.writestr(info, body)
    return out.getvalue()


def _write_chunk(job: tuple[str, int, int, int, int]) -> dict[str, int]:
    """Write reports ``start .. stop-1`` of a province of N into ``folder`` (one task of the pool), and last
    year's reports of some of those agencies into ``folder/../last-year``; returns the counts of the mix."""
    folder, n, seed, start, stop = job
    import io
    import random

    from nianbao.flows.excel.template import write_template
    from nianbao.flows.steps.sample import WARNING_KINDS, apply_warning, last_year_values, sample_reports
    from nianbao.schemas.form import FORM

    agencies = province(n)[start:stop]
    faulty = round(len(agencies) * FAULTY_SHARE)
    reports = sample_reports(YEAR, seed=seed * 1_000_003 + start, agencies=agencies, missing=0, faulty=faulty)
    rng = random.Random(seed * 7_919 + start)
    warned = set(rng.sample(range(len(reports)), round(len(reports) * WARNING_SHARE)))
    last_dir = Path(folder).parent / "last-year"
    mix = dict.fromkeys(("reports", "errors", "warned", *WARNING_KINDS, *STYLES, "last_year"), 0)
    for i, report in enumerate(reports):
        values = report.values
        name = report.agency.name
        kind = WARNING_KINDS[i % len(WARNING_KINDS)] if i in warned else None
        if kind == "jump" and report.fault:
            kind = "count"  # last year's report is built from this year's valid figures
        if kind:
            apply_warning(values, kind, name, YEAR, rng)
            mix[kind] += 1
            mix["warned"] += 1
        else:
            values.update(long_texts_of(name, values, rng))
        if (kind == "jump" or (not report.fault and rng.random() < LAST_YEAR_SHARE)):
            last = last_year_values({k: v for k, v in values.items()}, YEAR, name, rng, jump=kind == "jump")
            last["meta.uscc"] = report.agency.uscc
            write_template(last_dir / f"{name}-{YEAR - 1}年报.xlsx", values=last)
            mix["last_year"] += 1
        style = rng.choices(STYLES, weights=[STYLE_SHARES[s] for s in STYLES])[0]
        if report.fault in ("row_total", "appeal_total"):
            style = "values"  # a total typed over its formula
        written = values if style == "values" else {k: v for k, v in values.items() if k not in FORM.sums}
        buf = io.BytesIO()
        write_template(buf, values=written)
        data = with_cached_totals(buf.getvalue(), written) if style == "cached" else buf.getvalue()
        (Path(folder) / f"{name}-{YEAR}年报.xlsx").write_bytes(data)
        mix[style] += 1
        mix["reports"] += 1
        mix["errors"] += bool(report.fault)
    return mix


def long_texts_of(agency: str, values: dict, rng) -> dict[str, str]:
    from nianbao.flows.steps.sample import long_texts

    return long_texts(agency, YEAR, values, rng)


def files_dir(workdir: Path, n: int, seed: int) -> Path:
    return Path(workdir) / "files" / f"n{n}-seed{seed}-g{GENERATOR}"


def mix_of(folder: Path) -> dict:
    """The counts of the generated mix (see :func:`_write_chunk`)."""
    return json.loads((Path(folder) / COMPLETE_MARK).read_text()).get("mix", {})


def generate(workdir: Path, n: int, seed: int = DEFAULT_SEED, *, jobs: int | None = None,
             progress: Callable[[int, int], None] | None = None) -> Path:
    """The folder of N generated reports plus ``roster.csv``; reused when already complete."""
    from nianbao.flows.store.roster import Entry, write_roster_csv

    folder = files_dir(workdir, n, seed)
    if (folder / COMPLETE_MARK).exists():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    partial = folder.with_name(folder.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    (partial / "roster.csv").write_bytes(write_roster_csv([Entry(a.name, a.uscc) for a in province(n)]))
    work = [(str(partial / "reports"), n, seed, start, min(start + CHUNK, n)) for start in range(0, n, CHUNK)]
    (partial / "reports").mkdir()
    (partial / "last-year").mkdir()
    jobs = jobs or min(os.cpu_count() or 1, len(work)) or 1
    done = 0
    mix: dict[str, int] = {}

    def add(counts: dict[str, int]) -> None:
        nonlocal done
        for k, v in counts.items():
            mix[k] = mix.get(k, 0) + v
        done += counts["reports"]
        if progress:
            progress(done, n)

    if jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for counts in pool.imap_unordered(_write_chunk, work):
                add(counts)
    else:
        for job in work:
            add(_write_chunk(job))
    count = sum(1 for _ in (partial / "reports").iterdir())
    if count != n:
        raise RuntimeError(f"generator wrote {count} reports, expected {n}")
    (partial / COMPLETE_MARK).write_text(json.dumps({"n": n, "seed": seed, "year": YEAR, "generator": GENERATOR,
                                                     "mix": mix}))
    partial.rename(folder)
    return folder


def fresh_county(workdir: Path, files: Path, n: int):
    """An empty county (inbound, outbound, state) whose inbound folder holds hard links to the generated files."""
    from nianbao.flows.settings import Settings

    root = Path(workdir) / "runs" / f"n{n}"
    if root.exists():
        shutil.rmtree(root)
    settings = Settings(inbound=root / "inbound", outbound=root / "outbound", state=root / "var",
                        roster=root / "roster.csv")
    settings.inbound.mkdir(parents=True)
    shutil.copyfile(files / "roster.csv", settings.roster)
    last_year = files / "last-year"
    if last_year.is_dir() and any(last_year.iterdir()):
        # last year's reports of some agencies, in the ledger before the measured run (untimed): the
        # cross-year checks compare this year's reports with them
        _link_all(last_year, settings.inbound)
        measure("seed", {"root": str(root)})
    _link_all(files / "reports", settings.inbound)
    return settings


def _link_all(source: Path, inbound: Path) -> None:
    for path in source.iterdir():
        try:
            os.link(path, inbound / path.name)  # the intake moves the link; the cached file stays
        except OSError:
            shutil.copyfile(path, inbound / path.name)


# --------------------------------------------------------------------------
# Measurements, each in a fresh child process
# --------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident set size: ``VmHWM``, which (unlike ``ru_maxrss``) does not count the
    parent's pages a child shares between fork and exec; ``ru_maxrss`` where there is no /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _with_peak(fn: Callable, job):
    """``fn(job)`` with the process that computed it and its peak RSS so far (a worker's, in a worker)."""
    return fn(job), os.getpid(), peak_rss_mb()


def _measure_workers(intake_module, year_module) -> dict[str, dict[int, float]]:
    """Have the intake's reader ahead and the feedback workbooks' jobs report their process's peak RSS:
    {"reader" | "feedback": {worker pid: MB}}, filled as the pipeline runs."""
    peaks: dict[str, dict[int, float]] = {"reader": {}, "feedback": {}}

    def note(kind: str, pid: int, peak: float) -> None:
        if pid != os.getpid():  # computed in a worker, not here
            peaks[kind][pid] = max(peak, peaks[kind].get(pid, 0.0))

    run_jobs = year_module.run_jobs

    def measured_run_jobs(fn, jobs, **kw):
        out = run_jobs(functools.partial(_with_peak, fn), jobs, **kw)
        for _, pid, peak in out:
            note("feedback", pid, peak)
        return [result for result, _, _ in out]

    class MeasuredAhead(intake_module.Ahead):
        def __init__(self, fn, items):
            super().__init__(functools.partial(_with_peak, fn), items)

        def __next__(self):
            result, pid, peak = super().__next__()
            note("reader", pid, peak)
            return result

    year_module.run_jobs = measured_run_jobs
    intake_module.Ahead = MeasuredAhead
    return peaks


def _settings_of(root: str):
    from nianbao.flows.settings import Settings

    r = Path(root)
    return Settings(inbound=r / "inbound", outbound=r / "outbound", state=r / "var", roster=r / "roster.csv")


def _timed(module, name: str, spent: dict) -> None:
    """Wrap ``module.name`` so that the seconds spent in it add up in ``spent[name]``."""
    original = getattr(module, name)
    spent[name] = 0.0

    def wrapper(*args, **kw):
        t0 = time.perf_counter()
        try:
            return original(*args, **kw)
        finally:
            spent[name] += time.perf_counter() - t0

    setattr(module, name, wrapper)


def _child_pipeline(params: dict) -> dict:
    """intake() then write_year_outputs() for every year, as the flow's tasks call them; imports timed apart."""
    out: dict = {}
    t = time.perf_counter()
    from nianbao.schemas import checks  # noqa: F401 - pandas, pandera

    from nianbao.flows.steps import intake as intake_module  # noqa: F401
    from nianbao.flows.steps import year as year_outputs
    from nianbao.flows.store import roster
    out["import_core_s"] = time.perf_counter() - t
    t = time.perf_counter()
    from nianbao.flows.outputs import validation as gx_reports

    with gx_reports._quiet():
        import great_expectations  # noqa: F401
    out["import_gx_s"] = time.perf_counter() - t

    settings = _settings_of(params["root"])
    spent: dict[str, float] = {}
    _timed(gx_reports, "write_validation_reports", spent)  # write_year_outputs imports it from the module when it runs
    _timed(year_outputs, "_write_feedback", spent)
    peaks = _measure_workers(intake_module, year_outputs)
    show = params.get("progress")
    bar = Progress("收件", stream=sys.stderr) if show else None
    t = time.perf_counter()
    result = intake_module.intake(settings, settle_seconds=0, progress=bar)
    if bar:
        bar.close()
    out["intake_s"] = time.perf_counter() - t
    out["accepted"] = result.count("accepted")
    out["rejected"] = result.count("rejected")
    out["duplicates"] = result.count("duplicate")
    t = time.perf_counter()
    years = []
    for year in sorted(result.years) or [YEAR]:
        bar = Progress(f"{year} 年度反馈表", stream=sys.stderr) if show else None
        extra = {"progress": bar} if "progress" in inspect.signature(year_outputs.write_year_outputs).parameters else {}
        y = year_outputs.write_year_outputs(settings, year, roster.load_roster(settings.roster), **extra)
        if bar:
            bar.close()
        years.append({"year": year, "rebuilt": y.rebuilt, "in_rollup": sum(1 for s in y.statuses if s.in_rollup),
                      "rollup_findings": len(y.rollup_findings),
                      "expectation_failures": len(y.expectation_failures)})
    out["publish_s"] = time.perf_counter() - t
    out["feedback_workbooks"] = sum(1 for y in years for _ in (settings.outbound / str(y["year"]) / "feedback").glob("*.xlsx"))
    out["reports_s"] = spent["write_validation_reports"]
    out["feedback_s"] = spent["_write_feedback"]
    out["rollup_s"] = out["publish_s"] - out["reports_s"] - out["feedback_s"]
    out["years"] = years
    out["pipeline_s"] = out["intake_s"] + out["publish_s"]
    out["workers"] = sum(len(p) for p in peaks.values())
    out["workers_peak_rss_mb"] = max((mb for p in peaks.values() for mb in p.values()), default=0.0)
    out["reader_peak_rss_mb"] = max(peaks["reader"].values(), default=0.0)
    out["feedback_peak_rss_mb"] = max(peaks["feedback"].values(), default=0.0)
    return out


def _child_seed(params: dict) -> dict:
    """Last year's reports into the ledger (an intake alone), before the measured run."""
    from nianbao.flows.steps import intake as intake_module

    result = intake_module.intake(_settings_of(params["root"]), settle_seconds=0)
    return {"accepted": result.count("accepted"), "rejected": result.count("rejected")}


def _child_rerun(params: dict) -> dict:
    """The same pipeline with nothing new: every file is already in the ledger."""
    out = _child_pipeline({**params, "progress": False})
    out["rerun_s"] = out["pipeline_s"]
    return out


def _form_places() -> dict[str, list[tuple[str, int, int]]]:
    """sheet → [(code, row, col)] of the 200 numeric cells (where the template puts them)."""
    from nianbao.schemas.form import FORM
    from nianbao.schemas.layout import LAYOUT

    places: dict[str, list[tuple[str, int, int]]] = {}
    for code in FORM.numeric_codes:
        sheet, row, col = LAYOUT.place(code)
        places.setdefault(sheet, []).append((code, row, col))
    return places


def _number(value) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return 0.0


def _child_openpyxl(params: dict) -> dict:
    """openpyxl.load_workbook(read_only=True, data_only=True), then every named cell's value.

    openpyxl is reached through :mod:`flows.xlsx`, the one module of the project that imports it.
    """
    t = time.perf_counter()
    from nianbao.schemas.layout import parse_a1

    from openpyxl import load_workbook  # openpyxl's

    imported = time.perf_counter() - t
    t = time.perf_counter()
    total = 0.0
    files = sorted(Path(params["files"]).iterdir())
    for path in files:
        wb = load_workbook(path, read_only=True, data_only=True)
        wanted: dict[str, dict[tuple[int, int], str]] = {}
        for name, dn in wb.defined_names.items():
            for sheet, coord in dn.destinations:
                wanted.setdefault(sheet, {})[parse_a1(coord)] = name
        for sheet, cells in wanted.items():
            last = max(r for r, _ in cells)
            for r, row in enumerate(wb[sheet].iter_rows(max_row=last, values_only=True), start=1):
                for c, value in enumerate(row, start=1):
                    if (r, c) in cells and not cells[(r, c)].startswith(("meta.", "text.")):
                        total += _number(value)
        wb.close()
    return {"import_s": imported, "load_s": time.perf_counter() - t, "files": len(files), "sum": total}


def calamine_available() -> bool:
    try:
        import python_calamine  # noqa: F401
    except ImportError:
        return False
    return True


def _child_calamine(params: dict) -> dict:
    """python-calamine: each sheet holding numbers as Python values, then the 200 cells by their template place."""
    t = time.perf_counter()
    from python_calamine import CalamineWorkbook

    imported = time.perf_counter() - t
    places = _form_places()
    t = time.perf_counter()
    total = 0.0
    files = sorted(Path(params["files"]).iterdir())
    for path in files:
        wb = CalamineWorkbook.from_path(str(path))
        for sheet, cells in places.items():
            rows = wb.get_sheet_by_name(sheet).to_python()
            for _code, r, c in cells:
                if r - 1 < len(rows) and c - 1 < len(rows[r - 1]):
                    total += _number(rows[r - 1][c - 1])
    return {"import_s": imported, "load_s": time.perf_counter() - t, "files": len(files), "sum": total}


def _child_pandas(params: dict) -> dict:
    """The naive script: pandas.read_excel(sheet_name=None) per file (its default engine, openpyxl), summing every number."""
    t = time.perf_counter()
    import pandas as pd

    imported = time.perf_counter() - t
    t = time.perf_counter()
    total = 0.0
    files = sorted(Path(params["files"]).iterdir())
    for path in files:
        for frame in pd.read_excel(path, sheet_name=None, engine="openpyxl").values():
            total += float(frame.apply(pd.to_numeric, errors="coerce").sum().sum())
    return {"import_s": imported, "load_s": time.perf_counter() - t, "files": len(files), "sum": total}


def _child_prefect(params: dict) -> dict:
    """The flow on the temporary local Prefect server: imports, server start-up, a run, a run with nothing new."""
    from nianbao.flows.settings import configure_prefect

    settings = _settings_of(params["root"])
    os.environ["PREFECT_HOME"] = params["prefect_home"]
    configure_prefect(settings)
    out: dict = {}
    t = time.perf_counter()
    from nianbao.flows.pipeline import flow_parameters, nianbao_run

    out["import_s"] = time.perf_counter() - t  # prefect, pandas, pandera and the flows
    t = time.perf_counter()
    from nianbao.flows.outputs import validation as gx_reports

    with gx_reports._quiet():
        import great_expectations  # noqa: F401
    out["import_gx_s"] = time.perf_counter() - t
    t = time.perf_counter()
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # what a flow run in a bare process starts: the temporary server
    server.start(timeout=int(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")))
    out["server_start_s"] = time.perf_counter() - t
    try:
        t = time.perf_counter()
        summary = nianbao_run(**flow_parameters(settings, settle_seconds=0, progress=False))
        out["flow_s"] = time.perf_counter() - t
        out["accepted"] = summary["accepted"]
        t = time.perf_counter()
        nianbao_run(**flow_parameters(settings, settle_seconds=0, progress=False))
        out["flow_rerun_s"] = time.perf_counter() - t
    finally:
        server.stop()
    out["startup_s"] = params.get("interpreter_s", 0.0) + out["import_s"] + out["import_gx_s"] + out["server_start_s"]
    return out


CHILDREN = {
    "seed": _child_seed,
    "pipeline": _child_pipeline,
    "rerun": _child_rerun,
    "openpyxl": _child_openpyxl,
    "calamine": _child_calamine,
    "pandas": _child_pandas,
    "prefect": _child_prefect,
}


def measure(kind: str, params: dict, *, stderr=None) -> dict:
    """Run one measurement in a fresh Python process; its result plus wall time and peak RSS."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as fh:
        out_path = fh.name
    try:
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "nianbao.flows.bench", "--child", kind, json.dumps(params), out_path,
                               repr(time.time())],
                              stdout=subprocess.DEVNULL, stderr=stderr, env=_child_env())
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            raise RuntimeError(f"benchmark child {kind!r} failed with exit status {proc.returncode}")
        result = json.loads(Path(out_path).read_text())
    finally:
        os.unlink(out_path)
    result["process_wall_s"] = wall
    return result


def _child_env() -> dict:
    env = dict(os.environ)
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    env.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    env.pop("PREFECT_API_URL", None)
    return env


def _child_main(kind: str, params: str, out_path: str, spawned: str = "0") -> None:
    decoded = json.loads(params)
    decoded["interpreter_s"] = max(0.0, time.time() - float(spawned)) if float(spawned) else 0.0
    result = CHILDREN[kind](decoded)
    result["interpreter_s"] = decoded["interpreter_s"]  # from the parent's spawn to this line
    result["peak_rss_mb"] = peak_rss_mb()
    Path(out_path).write_text(json.dumps(result, ensure_ascii=False))


# --------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory": mem, "python": platform.python_version(),
            "platform": platform.platform()}


def bench_one(workdir: Path, n: int, seed: int, *, baselines: bool = True, progress: bool = True,
              log: Callable[[str], None] = print) -> dict:
    """Every measurement of one N."""
    t = time.perf_counter()
    bar = Progress(f"生成 {n} 份", stream=sys.stderr) if progress else None
    files = generate(workdir, n, seed, progress=bar)
    if bar:
        bar.close()
    row: dict = {"n": n, "seed": seed, "generate_s": time.perf_counter() - t, "mix": mix_of(files)}
    settings = fresh_county(workdir, files, n)
    root = str(settings.inbound.parent)
    log(f"[{n}] pipeline …")
    row["pipeline"] = measure("pipeline", {"root": root, "progress": progress}, stderr=None if progress else subprocess.DEVNULL)
    log(f"[{n}] rerun with nothing new …")
    row["rerun"] = measure("rerun", {"root": root})
    if baselines:
        for kind in ("openpyxl", "calamine", "pandas"):
            if kind == "calamine" and not calamine_available():
                log("python-calamine is not installed (pip install 'nianbao[bench]'): no calamine baseline")
                continue
            log(f"[{n}] baseline {kind} …")
            row[kind] = measure(kind, {"files": str(files / "reports")})
    return row


def prefect_overhead(workdir: Path, n: int, seed: int) -> dict:
    """The flow itself, once, on the files of N."""
    files = generate(workdir, n, seed)
    settings = fresh_county(workdir, files, n)
    home = Path(workdir) / "prefect-home"
    home.mkdir(parents=True, exist_ok=True)
    result = measure("prefect", {"root": str(settings.inbound.parent), "prefect_home": str(home.resolve())})
    result["n"] = n
    return result


def run(ns: Sequence[int], workdir: Path, *, seed: int = DEFAULT_SEED, baselines: bool = True,
        with_prefect: bool = True, progress: bool = True, log: Callable[[str], None] = print) -> dict:
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    results = {"when": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "machine": machine(),
               "peak_memory": "peak RSS (VmHWM, /proc/self/status) of a fresh child process per measurement",
               "rows": []}
    for n in ns:
        results["rows"].append(bench_one(workdir, n, seed, baselines=baselines, progress=progress, log=log))
    if with_prefect:
        log(f"[{min(ns)}] Prefect flow on the temporary server …")
        results["prefect"] = prefect_overhead(workdir, min(ns), seed)
    (workdir / RESULTS_FILE).write_text(json.dumps(results, ensure_ascii=False, indent=2))
    return results


def _ms(seconds: float, n: int) -> str:
    return f"{seconds / n * 1000:.2f} ms"


def _feedback_cell(p: dict) -> str:
    """Feedback workbooks: seconds, and how many at how long each (two worker processes from 40 on)."""
    count = p.get("feedback_workbooks")
    if not count:
        return f"{p['feedback_s']:.1f} s"
    return f"{p['feedback_s']:.1f} s ({count} × {p['feedback_s'] / count * 1000:.1f} ms)"


def mix_text(mix: dict) -> str:
    if not mix:
        return ""
    n = mix.get("reports", 0) or 1
    kinds = "、".join(f"{k} {mix.get(k, 0)}" for k in ("empty", "short", "count", "none", "year", "jump"))
    return (f"{mix['reports']:,} reports: {mix.get('errors', 0)} with an error ({mix.get('errors', 0) / n:.0%}), "
            f"{mix.get('warned', 0)} with a warning ({mix.get('warned', 0) / n:.0%}: {kinds}); totals as formulas "
            f"with cached values {mix.get('cached', 0)}, without {mix.get('formulas', 0)}, plain values "
            f"{mix.get('values', 0)}; last year's report in the ledger for {mix.get('last_year', 0)}.")


def render(results: dict) -> str:
    """The results as Markdown tables, and a few lines on start-up and Prefect."""
    lines = [
        "| N | pipeline | per report | intake | rollup, CSVs, page | feedback workbooks | GX reports "
        "| peak RSS (workers) | rerun, nothing new |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["rows"]:
        n, p, r = row["n"], row["pipeline"], row["rerun"]
        lines.append(
            f"| {n:,} | {p['pipeline_s']:.1f} s | {_ms(p['pipeline_s'], n)} | {p['intake_s']:.1f} s "
            f"| {p['rollup_s']:.1f} s | {_feedback_cell(p)} | {p['reports_s']:.1f} s "
            f"| {p['peak_rss_mb']:.0f} MB ({p.get('workers_peak_rss_mb', 0):.0f} MB) | {r['rerun_s']:.2f} s |"
        )
    if any(k in row for row in results["rows"] for k in ("openpyxl", "calamine", "pandas")):
        lines += [
            "",
            "| N | openpyxl read-only load | python-calamine (floor) | naive pandas script | pipeline ÷ calamine "
            "| pipeline ÷ openpyxl | pandas ÷ pipeline |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in results["rows"]:
            n, p = row["n"], row["pipeline"]["pipeline_s"]

            def cell(kind):
                b = row.get(kind)
                return f"{b['load_s']:.1f} s, {_ms(b['load_s'], n)}, {b['peak_rss_mb']:.0f} MB" if b else "–"

            def ratio(kind, inverse=False):
                b = row.get(kind)
                if not b:
                    return "–"
                return f"{(b['load_s'] / p) if inverse else (p / b['load_s']):.1f}×"

            lines.append(f"| {n:,} | {cell('openpyxl')} | {cell('calamine')} | {cell('pandas')} "
                         f"| {ratio('calamine')} | {ratio('openpyxl')} | {ratio('pandas', inverse=True)} |")
    first = results["rows"][0]["pipeline"] if results["rows"] else None
    lines.append("")
    for row in results["rows"]:
        if row.get("mix"):
            lines.append(f"Mix, N = {row['n']:,}: " + mix_text(row["mix"]))
    if first:
        lines.append(f"Imports in a fresh process: pandas, pandera and the pipeline {first['import_core_s']:.1f} s, "
                     f"Great Expectations {first['import_gx_s']:.1f} s.")
    pf = results.get("prefect")
    if pf:
        plain = next((row["pipeline"]["pipeline_s"] for row in results["rows"] if row["n"] == pf["n"]), None)
        overhead = f" (the same work as plain functions: {plain:.1f} s)" if plain is not None else ""
        lines.append(
            f"Prefect flow, N = {pf['n']:,}: start-up {pf['startup_s']:.1f} s (interpreter {pf['interpreter_s']:.1f} s, "
            f"imports with Prefect {pf['import_s']:.1f} s, Great Expectations {pf['import_gx_s']:.1f} s, temporary "
            f"server {pf['server_start_s']:.1f} s); flow run {pf['flow_s']:.1f} s{overhead}; flow run with nothing "
            f"new {pf['flow_rerun_s']:.1f} s; peak RSS {pf['peak_rss_mb']:.0f} MB."
        )
    lines.append("Peak memory: peak RSS (VmHWM) of a fresh child process per measurement; in brackets, the largest "
                 "of its worker processes (the reader ahead of the intake, feedback workbooks).")
    return "\n".join(lines)


def parse_ns(values: Sequence[str]) -> list[int]:
    ns = []
    for v in values:
        n = int(str(v).replace(",", "").replace("_", ""))
        if n < 1:
            raise ValueError(f"N must be at least 1: {v}")
        ns.append(n)
    return ns


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        _child_main(*argv[1:5])
        return 0
    p = argparse.ArgumentParser(prog="python -m nianbao.flows.bench")
    p.add_argument("--n", nargs="+", default=[str(n) for n in DEFAULT_NS])
    p.add_argument("--workdir", default=DEFAULT_WORKDIR)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--skip-baselines", action="store_true")
    p.add_argument("--skip-prefect", action="store_true")
    args = p.parse_args(argv)
    results = run(parse_ns(args.n), Path(args.workdir), seed=args.seed, baselines=not args.skip_baselines,
                  with_prefect=not args.skip_prefect, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(render(results))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

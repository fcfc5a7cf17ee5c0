"""Benchmark: every page of the dashboard on a 100,000-patient upload, in a real browser (issue 6).

Target: every page opens within 5 s cold (its results not yet cached for these data) and 1 s warm.

For each practice size (default 600 and 100,000 patients; analysis.simulate.write_sample into a temporary
folder) a fresh `streamlit run dashboard.py` is started on a free 127.0.0.1 port (as tests/conftest.py does,
with OUTCOMES_SAMPLE_DIR pointing at an empty folder, so that no sample practice warms the caches), and
Debian's Chromium, driven by Playwright, uploads assessments.csv and treatments.csv through the sidebar's file
input. Timed, each until `[data-testid='stApp'][data-test-script-state='notRunning']` with no stSkeleton and
no stSpinner left and the page's title shown:
- the upload: from set_input_files to the Overview rendered on the uploaded data (upload, import, first page);
- every other page's first visit (cold), then every page's second visit (warm);
- the server's peak memory: VmHWM in /proc/<pid>/status of the streamlit process, read at the end.
A table is printed and written as Markdown to --out.

With --profile, the analysis calls each page makes (same functions, same arguments, outside Streamlit) are
timed and profiled with cProfile on the largest size, together with what ui/cache.py adds to every call
(ui.cache.content_key hashing of the arguments when they are new objects; the pickle round trip of st.cache_data
for the results kept there; none for those kept once with st.cache_resource: the import and the selections,
whose frames the app keys by the key of the call that made them, without hashing).

    .venv/bin/python bench/bench_dashboard.py                       # 600 and 100,000 patients
    .venv/bin/python bench/bench_dashboard.py --sizes 600           # quick
    .venv/bin/python bench/bench_dashboard.py --profile --no-browser --sizes 100000
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pickle
import platform
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402
from tests.test_browser import PAGES, READY  # noqa: E402

#: pages timed beside those of tests/test_browser.py (the worklist is shown: no sign-in is an admin)
PAGES = {
    **PAGES,
    "Safety": ("safety", "Session safety"),
    "Boosters": ("boosters", "Boosters after the induction series"),
    "Worklist": ("worklist", "Clinician's worklist"),
}

COLD_TARGET, WARM_TARGET = 5.0, 1.0
BUSY = "[data-testid='stSkeleton'], [data-testid='stSpinner']"


# --- the server and the browser ---------------------------------------------------------------------------


def peak_memory_mb(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of a process in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    kb = lambda k: int(fields[k].split()[0])  # noqa: E731
    return kb("VmHWM") / 1024, kb("VmRSS") / 1024


def settle(page, title: str, timeout_ms: float) -> None:
    """Wait until the page shows ``title``, the script has finished and no skeleton or spinner is left."""
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=timeout_ms)
    for _ in range(2):  # a rerun may start right after the first one ends (e.g. a widget's default)
        page.wait_for_selector(READY, timeout=timeout_ms)
        page.wait_for_function(f'!document.querySelector("{BUSY}")', timeout=timeout_ms)
    page.wait_for_selector(READY, timeout=timeout_ms)


def visit(page, link: str, timeout_ms: float) -> float:
    """Click a page's link in the sidebar; seconds until it is rendered."""
    start = time.perf_counter()
    page.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text(link, exact=True)).click()
    settle(page, PAGES[link][1], timeout_ms)
    return time.perf_counter() - start


def run_browser(files: list[Path], timeout_s: float, pages=None) -> dict:
    """Upload ``files`` in a fresh server and time every page (or the Overview and ``pages``) cold and warm; the
    server's peak memory."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    timeout_ms = timeout_s * 1000
    out = {"cold": {}, "warm": {}, "errors": {}, "peak_mb": None, "rss_mb": None}
    with (
        tempfile.TemporaryDirectory(prefix="no-sample-") as empty,
        tempfile.TemporaryDirectory(prefix="bench-data-") as data_dir,
        streamlit_server(Path(data_dir), env={"OUTCOMES_SAMPLE_DIR": empty}) as (url, proc),
    ):
        idle_mb = peak_memory_mb(proc.pid)[0]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_context(viewport={"width": 1400, "height": 1400}).new_page()
                page.goto(url)
                settle(page, PAGES["Overview"][1], timeout_ms)
                out["before_upload_mb"] = peak_memory_mb(proc.pid)[0]

                def timed(kind: str, link: str, action) -> None:
                    try:
                        out[kind][link] = action()
                        if page.get_by_test_id("stException").count():
                            out["errors"][link] = "exception shown"
                    except PlaywrightError as e:  # a timeout: recorded, the run goes on
                        out[kind][link] = None
                        out["errors"][link] = str(e).splitlines()[0][:120]

                def upload() -> float:
                    start = time.perf_counter()
                    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([str(f) for f in files])
                    page.get_by_text(f"Using {', '.join(f.name for f in files)}").wait_for(timeout=timeout_ms)
                    settle(page, PAGES["Overview"][1], timeout_ms)
                    return time.perf_counter() - start

                timed("cold", "Overview", upload)
                links = [link for link in PAGES if pages is None or link in ("Overview", *pages)]
                for link in links:
                    if link != "Overview":
                        timed("cold", link, lambda: visit(page, link, timeout_ms))
                    print(f"    cold {link:<16} {fmt(out['cold'][link])}", flush=True)
                for link in links:
                    timed("warm", link, lambda: visit(page, link, timeout_ms))
                    print(f"    warm {link:<16} {fmt(out['warm'][link])}", flush=True)
            finally:
                browser.close()
        out["peak_mb"], out["rss_mb"] = peak_memory_mb(proc.pid)
        out["idle_mb"] = idle_mb
    return out


# --- the practice ------------------------------------------------------------------------------------------


def practice(folder: Path, patients: int) -> list[Path]:
    from analysis.simulate import write_sample

    return write_sample(folder / f"p{patients}", patients=patients)


def fmt(v) -> str:
    return "timeout" if v is None else f"{v:.2f}"


def mark(v, target: float) -> str:
    return "timeout" if v is None else f"{v:.2f}" + ("" if v <= target else " (over)")


def markdown(results: dict, sizes: dict) -> str:
    lines = [
        f"### Dashboard: every page, cold and warm (bench/bench_dashboard.py, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs, Python {platform.python_version()}, "
        "Streamlit 1.67, Debian Chromium headless via Playwright. Seconds from the click (or the upload) until the "
        "page is rendered (script not running, no skeleton or spinner). Cold: first visit, the page's results not "
        f"yet cached for these data (the upload row includes sending the files and importing them); warm: second "
        f"visit. Target: cold <= {COLD_TARGET:g} s, warm <= {WARM_TARGET:g} s.",
        "",
    ]
    cols = list(results)
    head = "| page | " + " | ".join(f"{n:,} patients cold | warm" for n in cols) + " |"
    lines += [head, "|---|" + "---:|---:|" * len(cols)]
    for link in [link for link in PAGES if any(link in results[n]["cold"] for n in cols)]:
        cells = []
        for n in cols:
            r = results[n]
            cells += [mark(r["cold"].get(link), COLD_TARGET), mark(r["warm"].get(link), WARM_TARGET)]
        name = "Overview (with the upload)" if link == "Overview" else link
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| practice | assessments.csv | treatments.csv | server peak memory (VmHWM) | before the upload |",
        "|---|---:|---:|---:|---:|",
    ]
    for n in cols:
        a, t = sizes[n]
        r = results[n]
        lines.append(
            f"| {n:,} patients | {a / 1e6:.1f} MB | {t / 1e6:.1f} MB | {r['peak_mb']:,.0f} MB | "
            f"{r.get('before_upload_mb', float('nan')):,.0f} MB |"
        )
    errors = [f"- {n:,} patients, {link}: {e}" for n in cols for link, e in results[n]["errors"].items()]
    if errors:
        lines += ["", "Problems:", *errors]
    return "\n".join(lines) + "\n"


# --- profile: the analysis calls of each page, outside Streamlit --------------------------------------------


def page_calls(files: list[Path]):
    """(page, label, function, args, kwargs) of every analysis call the pages make with their default inputs,
    in the order a user meets them; each call's arguments are built from the earlier calls' results."""
    from analysis import cohorts, durability, metrics, trajectory
    from analysis.ingest import load_files
    from analysis.outcomes import Definitions

    defs = Definitions()
    raw = [(f.name, f.read_bytes()) for f in files]
    loaded = load_files(raw)
    a, t = loaded.assessments, loaded.treatments
    yield "frame", "ingest.load_files", load_files, (raw,), {}
    yield "frame", "cohorts.filter_options", cohorts.filter_options, (a, t), {}
    sel = cohorts.select(a, t, conditions=None, sites=None, start_from=None, start_to=None)
    yield (
        "frame",
        "cohorts.select (no filter)",
        cohorts.select,
        (a, t),
        dict(conditions=None, sites=None, start_from=None, start_to=None),
    )
    a, t = sel.assessments, sel.treatments
    yield "Overview", "metrics.summary_and_kpis", metrics.summary_and_kpis, (a, t, defs), {"instrument": "PHQ9"}
    yield (
        "Trajectories",
        "trajectory.trajectories",
        trajectory.trajectories,
        (a, "PHQ9"),
        {"by": "condition", "definitions": defs},
    )
    yield (
        "Durability",
        "durability.analyse by condition",
        durability.analyse,
        (a, t, "PHQ9"),
        {"by": "condition", "definitions": defs},
    )
    grouped = durability.analyse(a, t, "PHQ9", by="condition", definitions=defs)
    yield "Durability", "durability.overall (of the grouped result)", durability.overall, (grouped,), {}
    yield (
        "Compare",
        "cohorts.filter_options (PHQ9)",
        cohorts.filter_options,
        (a, t),
        {"instrument": "PHQ9", "definitions": defs},
    )
    from ui import cohort_view  # the page helpers that hold analysis calls (trajectories, durability)

    sa = cohorts.select(a, t, instrument="PHQ9", conditions=["depression"])
    sb = cohorts.select(a, t, instrument="PHQ9", conditions=["bipolar_depression"])
    yield (
        "Compare",
        "cohorts.select x2",
        lambda: (
            cohorts.select(a, t, instrument="PHQ9", conditions=["depression"]),
            cohorts.select(a, t, instrument="PHQ9", conditions=["bipolar_depression"]),
        ),
        (),
        {},
    )
    yield "Compare", "cohorts.compare", cohorts.compare, (sa, sb, "PHQ9", defs), {}
    yield (
        "Compare",
        "trajectory.trajectories (cohorts)",
        trajectory.trajectories,
        (cohort_view.combined(sa, sb), "PHQ9"),
        {"by": "cohort", "definitions": defs},
    )
    yield (
        "Compare",
        "durability.analyse x2 (cohorts)",
        lambda: [durability.analyse(s.assessments, s.treatments, "PHQ9", by=None, definitions=defs) for s in (sa, sb)],
        (),
        {},
    )
    from analysis import boosters, worklist

    yield (
        "Boosters",
        "boosters.analyse by condition",
        boosters.analyse,
        (a, t, "PHQ9", "condition", defs),
        {},
    )
    yield "Boosters", "boosters.interval_distribution", boosters.interval_distribution, (t, 11), {}
    yield "Worklist", "worklist.worklist", worklist.worklist, (a, t, "PHQ9", defs), {}
    from analysis import dose_response, safety  # (issue 17: the Safety and Dose and frequency pages' calls)

    yield "Safety", "safety.session_flags", safety.session_flags, (t, defs), {}
    flags = safety.session_flags(t, defs)  # (made once, shared by both pages)
    yield "Safety", "safety.session_safety", safety.session_safety, (a, t, defs), {"flags": flags}
    yield "Dose and frequency", "dose_response.analyse", dose_response.analyse, (a, t, "PHQ9", defs), {"flags": flags}
    yield "Safety", "safety.monitoring_record (on a click)", safety.monitoring_record, (t, defs, flags), {}
    yield "Data", "Loaded.to_json + to_text", lambda: (loaded.to_json(), loaded.to_text()), (), {}
    # --- the Quality measures page (issue 18): the index months, the default year, its CCBHC reading, the course
    from analysis import measures

    prep = measures.prepare(a, t)
    lo, hi = measures.default_period(measures.index_months_of(prep))
    yield "Quality measures", "measures.prepare", measures.prepare, (a, t), {}
    yield "Quality measures", "measures.index_months_of", measures.index_months_of, (prep,), {}
    args, any_score = (a, t, defs, lo, hi), (a, t, defs.replace(measure_score="any"), lo, hi)
    yield "Quality measures", "measures.quality_measures (year)", measures.quality_measures, args, {"prepared": prep}
    yield "Quality measures", "quality_measures (CCBHC)", measures.quality_measures, any_score, {"prepared": prep}
    yield "Quality measures", "metrics.summary", metrics.summary, (a, t, defs), {}


#: the calls whose results ui/cache.py keeps once with st.cache_resource (no pickle, no unpickle)
RESOURCE = ("ingest.load_files", "cohorts.select (no filter)", "cohorts.select x2")


def cache_overhead(label, args, kwargs, value) -> tuple[float, float, float]:
    """What ui/cache.py adds to a call: the key (cache.content_key of the arguments, as new objects: in the
    app, arguments that are shared results are keyed without hashing; for the import, cache.load's SHA-256 of
    the files' bytes), and for the results of st.cache_data the pickle (cold) and unpickle (every warm
    hit); 0 for the results of st.cache_resource (RESOURCE). Seconds."""
    import hashlib

    from ui import cache

    t0 = time.perf_counter()
    if label == "ingest.load_files":
        for _name, data in args[0]:
            hashlib.sha256(data).digest()
    else:
        cache.content_key(list(args)), cache.content_key(kwargs)
    t1 = time.perf_counter()
    if label in RESOURCE:
        return t1 - t0, 0.0, 0.0
    blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    t2 = time.perf_counter()
    pickle.loads(blob)
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def profile(files: list[Path], top: int = 12) -> str:
    """Each page's analysis calls timed (wall time of one run without the profiler), then profiled; a text
    report."""
    report = io.StringIO()
    rows = []
    for page, label, func, args, kwargs in page_calls(files):
        start = time.perf_counter()
        func(*args, **kwargs)
        plain = time.perf_counter() - start
        prof = cProfile.Profile()
        start = time.perf_counter()
        prof.enable()
        value = func(*args, **kwargs)
        prof.disable()
        wall = time.perf_counter() - start
        key, dump, load = cache_overhead(label, args, kwargs, value)
        rows.append((page, label, plain, wall, key, dump, load))
        print(
            f"  {page:<13} {label:<36} {plain:7.2f} s (profiled {wall:6.2f})   key {key:5.2f}  pickle {dump:5.2f}"
            f"  unpickle {load:5.2f}",
            flush=True,
        )
        stream = io.StringIO()
        stats = pstats.Stats(prof, stream=stream).strip_dirs().sort_stats("tottime")
        stats.print_stats(top)
        report.write(f"\n=== {page}: {label}: {wall:.2f} s (cProfile on; sorted by own time)\n")
        report.write("\n".join(stream.getvalue().splitlines()[6:]))
        stream = io.StringIO()
        pstats.Stats(prof, stream=stream).strip_dirs().sort_stats("cumulative").print_stats(top)
        report.write("\n--- by cumulative time\n" + "\n".join(stream.getvalue().splitlines()[6:]))
    head = [
        "| page | analysis call | seconds | under cProfile | cache key of the arguments | pickle of the result | unpickle |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    head += [f"| {p} | {lab} | {s:.2f} | {w:.2f} | {k:.2f} | {d:.2f} | {u:.2f} |" for p, lab, s, w, k, d, u in rows]
    return "\n".join(head) + "\n" + report.getvalue()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[600, 100_000], help="practice sizes (patients)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "dashboard.md", help="Markdown table")
    ap.add_argument("--timeout", type=float, default=600, help="seconds allowed for one page")
    ap.add_argument("--profile", action="store_true", help="profile the pages' analysis calls on the largest size")
    ap.add_argument("--no-browser", action="store_true", help="skip the browser timings (with --profile)")
    ap.add_argument("--pages", nargs="+", choices=list(PAGES), help="only these pages (and the Overview)")
    ap.add_argument("--profile-out", type=Path, default=ROOT / "bench" / "out" / "dashboard_profile.txt")
    args = ap.parse_args(argv)
    if not args.no_browser and not Path(CHROMIUM).exists():
        ap.error(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        files = {n: practice(Path(tmp), n) for n in args.sizes}
        sizes = {n: tuple(f.stat().st_size for f in fs) for n, fs in files.items()}
        if not args.no_browser:
            results = {}
            for n in args.sizes:
                print(
                    f"{n:,} patients ({sizes[n][0] / 1e6:.1f} MB of assessments): a fresh server, upload, every page",
                    flush=True,
                )
                results[n] = run_browser(files[n], args.timeout, args.pages)
                print(f"    server peak memory {results[n]['peak_mb']:,.0f} MB", flush=True)
            text = markdown(results, sizes)
            print("\n" + text)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text)
            print(f"written to {args.out}")
        if args.profile:
            n = max(args.sizes)
            print(f"\nprofile of the pages' analysis calls, {n:,} patients (outside Streamlit):", flush=True)
            text = profile(files[n])
            args.profile_out.parent.mkdir(parents=True, exist_ok=True)
            args.profile_out.write_text(text)
            print(f"profiles written to {args.profile_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

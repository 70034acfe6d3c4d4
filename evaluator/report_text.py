"""Plain-text renderings of a score report (terminal table) and of generic tables."""

from __future__ import annotations


def fmt(value, digits: int = 4) -> str:
    """A number with fixed digits; "n/c" (not computed) for None."""
    if value is None:
        return "n/c"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def fmt_score(value, stderr=None, digits: int = 4) -> str:
    """'0.5200 ± 0.0500' (the stderr when there is one), 'n/c' when not computed."""
    if value is None:
        return "n/c"
    return f"{value:.{digits}f}" + (f" ± {stderr:.{digits}f}" if stderr is not None else "")


def fmt_grams(kg: float | None) -> str:
    """A CO2 mass given in kg, shown in grams: '700 g', '0.0123 g', '1.0e-06 g'."""
    if kg is None:
        return "n/a"
    grams = kg * 1000
    if grams == 0 or abs(grams) >= 0.001:
        return f"{grams:.4g} g"
    return f"{grams:.1e} g"


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A left-aligned text table with a dashed rule under the header."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _components(components: dict) -> str:
    return ", ".join(f"{k}={fmt(v)}" for k, v in components.items() if k not in ("generated_images",))


def render_score(report: dict, verbose_problems: int = 10) -> str:
    """The score table and summary lines (warnings are not in it: the CLI prints them on stderr)."""
    rows = []
    for name, entry in report["tasks"].items():
        if not entry["n"]:
            continue
        passes = entry["passes_threshold"]
        rows.append([
            name, entry["kind"], fmt_score(entry["score"], entry.get("stderr")), entry["n"], entry["missing"],
            entry["malformed"], fmt(entry["threshold"], 2) if entry["threshold"] is not None else "-",
            "-" if entry["threshold"] is None else {True: "pass", False: "FAIL", None: "n/c"}[passes],
            _components(entry["components"]),
        ])
    out = [table(["task", "kind", "score ± stderr", "n", "missing", "malformed", "threshold", "passes", "components"],
                 rows), ""]
    if report["absent_tasks"]:
        out.append(f"Tasks without samples in this set (count 0): {', '.join(report['absent_tasks'])}")
    integral = fmt_score(report["integral"], report.get("integral_stderr"))
    out.append(f"Integral score S = {integral}" + (" (PARTIAL)" if report["partial"] else ""))
    out.append(f"  {report['integral_note']}")
    out.append(f"Prize thresholds: {report['thresholds_summary']}")
    out.append(f"stderr: {report['stderr_method']}")
    out.append(f"METEOR synonym stage: {report['synonym_stage']}")
    for reason in report["not_computed"]:
        if "no samples" not in reason:
            out.append(f"NOT COMPUTED  {reason}")
    extras = report["extras"]["tasks"]
    if extras:
        out.append("")
        out.append(f"Extras - {report['extras']['note']}:")
        names = sorted({k for values in extras.values() for k in values})
        out.append(table(["task (NON-OFFICIAL)"] + names,
                         [[task] + [fmt(values.get(k)) for k in names] for task, values in extras.items()]))
    problems = report["problems"]
    if problems["missing"] or problems["malformed"]:
        out.append("")
        out.append(f"Prediction problems: {problems['missing']} missing, {problems['malformed']} malformed "
                   f"({', '.join(f'{k}: {n}' for k, n in problems['by_kind'].items())}); each such sample scores 0")
        for item in problems["samples"][:verbose_problems]:
            out.append(f"  {item['task']} sample {item['id']}: {item['kind']} ({item['detail']})")
        if len(problems["samples"]) > verbose_problems:
            out.append(f"  ... {len(problems['samples']) - verbose_problems} more (see --json)")
    if report.get("co2"):
        out.append("")
        out.append(f"CO2 (eco2AI, last TargetValue row): {report['co2']['text']}")
    return "\n".join(out)

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
    rows = []
    for name, entry in report["tasks"].items():
        passes = entry["passes_threshold"]
        rows.append([
            name, entry["kind"], fmt(entry["score"]), entry["n"], entry["missing"], entry["malformed"],
            fmt(entry["threshold"], 2) if entry["threshold"] is not None else "-",
            "-" if entry["threshold"] is None else fmt(passes),
            _components(entry["components"]) if entry["n"] else "",
        ])
    out = [table(["task", "kind", "score", "n", "missing", "malformed", "threshold", "passes", "components"], rows), ""]
    integral = f"{report['integral']:.4f}"
    out.append(f"Integral score S = {integral}" + (" (PARTIAL)" if report["partial"] else ""))
    out.append(f"  {report['integral_note']}")
    eligible = report["prize_eligible"]
    out.append("Prize thresholds: " + {True: "all open tasks pass", False: "NOT all open tasks pass",
                                       None: "unknown (some open task scores not computed)"}[eligible])
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
    for warning in report["warnings"]:
        out.append(f"warning: {warning}")
    if report.get("co2"):
        co2 = report["co2"]
        out.append("")
        out.append(f"CO2 (eco2AI, last TargetValue row): {fmt(co2.get('target_value_co2_kg'), 6)} kg")
    return "\n".join(out)

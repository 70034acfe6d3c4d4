"""Number and table formatting shared by every renderer."""

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


def components_text(components: dict) -> str:
    """'clip=0.5000, fid=n/c': a task's components (the count of generated images left out)."""
    return ", ".join(f"{k}={fmt(v)}" for k, v in components.items() if k != "generated_images")

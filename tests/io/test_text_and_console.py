"""fbc2_io.text and fbc2_io.console: lone surrogates, printable values, consoles that cannot encode."""

import subprocess
import sys
from pathlib import Path

from fbc2_io.text import has_surrogates, printable, without_surrogates

ROOT = Path(__file__).resolve().parents[2]


def test_without_surrogates_replaces_only_lone_surrogates():
    assert without_surrogates("a\ud800b\udfffc") == "a\ufffdb\ufffdc"
    assert without_surrogates("ok 😀 ё") == "ok 😀 ё"
    assert has_surrogates("x\udc80") and not has_surrogates("😀")


def test_printable_escapes_controls_and_cuts():
    assert printable("a\x1b[31mb\u202ec") == "a\\x1b[31mb\\u202ec"
    assert printable("\udc80") == "\\udc80"
    assert printable(Path("/tmp/x")) == "/tmp/x"
    assert printable(5) == "5"
    long = printable("x" * 500)
    assert len(long) == 200 and long.endswith("…")


def test_console_safe_output_on_an_ascii_console_with_a_surrogate():
    """A console that cannot encode '±', an emoji or a lone surrogate prints escapes, not a traceback."""
    code = ("from fbc2_io.console import make_console_safe; make_console_safe(); "
            "print('± 😀 \\udc80 ok'); import sys; print('ё', file=sys.stderr)")
    for encoding in ("ascii", "cp1251"):
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                                env={"PYTHONIOENCODING": encoding, "PYTHONPATH": str(ROOT)})
        assert result.returncode == 0, result.stderr
        assert result.stdout.decode(encoding).strip().endswith("\\udc80 ok")
        assert "\\U0001f600" in result.stdout.decode(encoding)


def test_without_make_console_safe_the_same_print_crashes():
    """The control case: the test above fails without the call."""
    result = subprocess.run([sys.executable, "-c", "print('± ok')"], capture_output=True,
                            env={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 1 and b"UnicodeEncodeError" in result.stderr

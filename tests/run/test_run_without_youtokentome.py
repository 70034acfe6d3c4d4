"""run.py needs no youtokentome: on sample_input/ with the library made unimportable it gives the
same predictions as with the library doing the tokenization.

Both runs use --no-images (no images for the text-only samples: they would double the time and
depend on the tokenizer only through the same encoded texts that the answers already depend on).
"""

import json
import subprocess
import sys

import pytest
import torch
from helpers.run_entry import ROOT, read_predictions

SAMPLE_INPUT = ROOT / "sample_input" / "input.json"
TESTS = ROOT / "tests"

# Run in a fresh interpreter after a prelude: run.py as ``python run.py ARGS`` would run.
RUN_AFTER = """{prelude}
import runpy, sys
sys.argv = ["run.py", *{args!r}]
runpy.run_path({run!r}, run_name="__main__")
"""
WITHOUT_LIBRARY = "import sys; sys.modules['youtokentome'] = None  # import youtokentome raises ImportError"
WITH_LIBRARY = f"import sys; sys.path.insert(0, {str(TESTS)!r}); from helpers.library_bpe import use_youtokentome; " \
               "use_youtokentome()"


def run_py(prelude: str, out, weights) -> subprocess.CompletedProcess:
    args = ["--input", str(SAMPLE_INPUT), "--output", str(out), "--weights", str(weights), "--no-progress",
            "--no-eco2ai", "--no-images"]
    code = RUN_AFTER.format(prelude=prelude, args=args, run=str(ROOT / "run.py"))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, cwd=ROOT)


@pytest.mark.slow
def test_run_py_without_youtokentome_gives_the_library_predictions(tmp_path, tiny_weights):
    pytest.importorskip("youtokentome")
    blocked = run_py(WITHOUT_LIBRARY + "\ntry:\n    import youtokentome\nexcept ImportError:\n    pass\n"
                     "else:\n    raise SystemExit('youtokentome is still importable')", tmp_path / "without", tiny_weights)
    assert blocked.returncode == 0, blocked.stderr[-2000:]
    library = run_py(WITH_LIBRARY, tmp_path / "with", tiny_weights)
    assert library.returncode == 0, library.stderr[-2000:]
    for result in (blocked, library):
        assert "samples: 120; answered: 120; placeholders: 0" in result.stderr

    without, with_library = read_predictions(tmp_path / "without"), read_predictions(tmp_path / "with")
    assert list(without) == list(json.loads(SAMPLE_INPUT.read_text(encoding="utf-8")))
    assert without == with_library


def test_tokenizer_encodes_every_sample_text_as_the_library(tiny_weights):
    pytest.importorskip("youtokentome")
    from helpers.library_bpe import LibraryBPE

    from solution.rudolph.tokenizer import Tokenizer

    ours, library = Tokenizer(tiny_weights / "bpe.model"), Tokenizer(tiny_weights / "bpe.model")
    library.bpe = LibraryBPE(tiny_weights / "bpe.model")
    texts = [it["content"] for items in json.loads(SAMPLE_INPUT.read_text(encoding="utf-8")).values()
             for it in items if it["type"] == "text"]
    assert len(texts) >= 120
    for text in texts:
        assert ours.bpe_encode(text) == library.bpe_encode(text), text
        assert torch.equal(ours.encode_left(text, 64), library.encode_left(text, 64))

import json
import subprocess
import sys

import pytest
import torch

from solution.rudolph.bpe import BPEModelError
from solution.rudolph.tokenizer import BOS_ID, EOS_ID, SPECIAL_TOKENS, UNK_ID, Tokenizer, train_bpe, truncate

TEXTS = [
    "Ответь на вопрос по изображению. На чём едет человек справа?",
    "Сгенерируй изображение по тексту. Красный круг на синем фоне.",
    "Определи правильный ответ по тексту. Москва является столицей России.",
    "Решите уравнение. Если 6 умножить на y и вычесть 54, то получится -72.",
    "варианты: a) на велосипеде; b) на лошади; c) пешком",
    "На картинке зелёный квадрат и жёлтый треугольник.",
] * 20


@pytest.fixture(scope="module")
def bpe_path(tmp_path_factory):
    return train_bpe(TEXTS, tmp_path_factory.mktemp("bpe") / "bpe.model", vocab_size=200)


@pytest.fixture(scope="module")
def tokenizer(bpe_path):
    return Tokenizer(bpe_path)


def test_special_ids_follow_bpe_vocab(tokenizer):
    assert tokenizer.bpe_vocab_size == 200
    assert tokenizer.special("<LT_UNK>") == 200 and tokenizer.special("<RT_UNK>") == 201
    assert tokenizer.special("<RT_REC>") == 200 + len(SPECIAL_TOKENS) - 1 == 216
    with pytest.raises(ValueError, match="unknown special token"):
        tokenizer.special("<LT_XYZ>")


@pytest.mark.parametrize("text", ["на картинке зелёный квадрат", "решите уравнение. если 6 умножить на y"])
def test_round_trip(tokenizer, text):
    ids = tokenizer.encode_left(text, 64)
    assert ids.shape == (64,)
    assert ids[0] == BOS_ID and ids[1] == tokenizer.special("<LT_UNK>")
    n = int((ids != 0).sum())
    assert ids[n - 1] == EOS_ID and bool((ids[n:] == 0).all())
    assert tokenizer.decode(ids) == text


def test_lower_case_and_strip(tokenizer):
    assert torch.equal(tokenizer.encode_left("  На Картинке  ", 32), tokenizer.encode_left("на картинке", 32))


def test_left_truncation_keeps_start_and_end(tokenizer):
    text = " ".join(["ответь на вопрос."] + ["москва является столицей россии."] * 10 + ["варианты: a) на лошади"])
    tokens = tokenizer.bpe_encode(text)
    ids = tokenizer.encode_left(text, 23)
    assert len(tokens) > 20
    room = 20
    kept = ids[2:22].tolist()
    assert kept == tokens[:room // 4] + tokens[-(room - room // 4):]
    assert ids[22] == EOS_ID
    assert tokenizer.decode(ids).endswith("a) на лошади")
    assert tokenizer.decode(ids).startswith("ответ")


def test_right_truncation_keeps_start(tokenizer):
    text = "на картинке зелёный квадрат и жёлтый треугольник " * 3
    ids = tokenizer.encode_right(text, 10)
    assert ids[1] == tokenizer.special("<RT_UNK>") and ids[9] == EOS_ID
    assert ids[2:9].tolist() == tokenizer.bpe_encode(text)[:7]


def test_decode_drops_specials_and_stops_at_eos(tokenizer):
    word = tokenizer.bpe_encode("квадрат")
    ids = [BOS_ID, tokenizer.special("<RT_UNK>"), 1, *word, 0, EOS_ID, *tokenizer.bpe_encode("круг")]
    assert tokenizer.decode(ids) == "квадрат"
    assert tokenizer.decode([BOS_ID, EOS_ID]) == ""


def test_truncate_rule():
    assert truncate(list(range(10)), 10, 2) == list(range(10))
    assert truncate(list(range(10)), 6, 2) == [0, 1, 6, 7, 8, 9]
    assert truncate(list(range(10)), 4, 4) == [0, 1, 2, 3]
    assert truncate(list(range(10)), 4, 0) == [6, 7, 8, 9]


def test_errors(tmp_path, tokenizer, bpe_path):
    with pytest.raises(FileNotFoundError, match="BPE model not found"):
        Tokenizer(tmp_path / "missing.model")
    truncated = tmp_path / "truncated.model"
    truncated.write_text("".join(bpe_path.read_text().splitlines(keepends=True)[:-3]), encoding="ascii")
    with pytest.raises(BPEModelError, match="truncated.model, line .*truncated model"):
        Tokenizer(truncated)
    with pytest.raises(ValueError, match="cannot hold"):
        tokenizer.encode_left("x", 2)


def test_lone_surrogate_is_replaced_with_a_warning(tokenizer):
    text = "на картинке \ud800зелёный квадрат\udfff"
    with pytest.warns(UserWarning, match="replaced 2 lone surrogate.*U\\+D800, U\\+DFFF"):
        ids = tokenizer.encode_left(text, 64)
    assert torch.equal(ids, tokenizer.encode_left(text.replace("\ud800", "\ufffd").replace("\udfff", "\ufffd"), 64))
    assert ids.tolist().count(UNK_ID) == 2  # U+FFFD is not in the model: one unk each, the words survive
    assert tokenizer.decode(ids) == "на картинке зелёный квадрат"


def test_tokenizer_needs_no_youtokentome(tokenizer, bpe_path):
    text = "Решите уравнение: x + 5 = 7.\tВарианты: a) 2; b) 3"
    code = ("import json, sys; sys.modules['youtokentome'] = None\n"
            "from solution.rudolph.tokenizer import Tokenizer\n"
            f"t = Tokenizer({str(bpe_path)!r}); ids = t.encode_left({text!r}, 40)\n"
            "print(json.dumps([ids.tolist(), t.decode(ids)]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    ids, decoded = json.loads(result.stdout.strip().splitlines()[-1])
    assert ids == tokenizer.encode_left(text, 40).tolist()
    assert decoded == tokenizer.decode(tokenizer.encode_left(text, 40))

"""Golden values of the official per-sample metrics, worked out by hand, and every named quirk."""

import pytest

from evaluator.metrics.text import (
    TEXT_METRICS,
    levenshtein,
    mathqa_exact,
    meteor_preprocess,
    textqa_f1,
    tritw_ned,
    vqa_meteor,
)
from evaluator.metrics.textnorm import english_numbers_to_digits, first_option_letter, normalize_answer


# --------------------------------------------------------------------------------------------- normalisation
def test_normalisation_lowercases_strips_punctuation_and_lemmatises_each_word():
    assert normalize_answer("Кошки, СПЯТ!") == "кошка спать"
    assert normalize_answer("кошка спит на диване") == "кошка спать на диван"


def test_number_lemmas_map_to_digits():
    # "двух" -> lemma "два" -> "2"; "никакого" -> "никакой" -> "0"; "десять" -> "10"
    assert normalize_answer("двух никакого десять") == "2 0 10"


def test_mathqa_normalisation_keeps_hyphen_textqa_does_not():
    assert normalize_answer("-5", keep_hyphen=True) == "-5"
    assert normalize_answer("-5") == "5"


def test_english_number_words_become_digits_russian_unchanged():
    assert english_numbers_to_digits("two cats") == "2 cats"
    assert english_numbers_to_digits("one hundred and five") == "105"  # (1*100) + 5
    assert english_numbers_to_digits("twenty one thousand three") == "21003"  # (20+1)*1000 + 3
    assert english_numbers_to_digits("два  кота") == "два кота"  # whitespace collapsed only
    assert english_numbers_to_digits("cats and two dogs") == "cats 2 dogs"  # wordtodigits drops that "and"
    assert english_numbers_to_digits("hundred") == "0"  # 0 * 100, as wordtodigits


def test_first_option_letter_is_lowercase_latin_a_to_e_only():
    assert first_option_letter("Ответ: b) Пушкин") == "b"
    assert first_option_letter("Вариант B") is None  # upper case does not count (official regex)
    assert first_option_letter("ответ") is None  # Cyrillic "о", "е" are not Latin
    assert first_option_letter("The answer") == "e"  # the first a-e anywhere, even inside a word


# --------------------------------------------------------------------------------------------- TextQA
def test_textqa_token_f1_golden():
    # pred "кошки спят" -> [кошка, спать]; gold -> [кошка, спать, на, диван]; common = 2
    # P = 2/2 = 1, R = 2/4 = 0.5, F1 = 2*1*0.5 / 1.5 = 2/3
    assert textqa_f1("кошки спят", ["кошка спит на диване"]) == pytest.approx(2 / 3)


def test_textqa_best_over_gold_options():
    # vs "дом": pred [кошка, спать] shares nothing -> 0; vs "кошка спит на диване" -> 2/3 (above)
    assert textqa_f1("кошки спят", ["дом", "кошка спит на диване"]) == pytest.approx(2 / 3)


def test_textqa_letter_fallback_at_exactly_one_half():
    # vs "Пушкин": pred [ответ, b, пушкин], gold [пушкин]: P = 1/3, R = 1, F1 = (2/3)/(4/3) = 0.5 <= 0.5
    # -> fallback: first a-e of the raw prediction is "b" -> F1("b", "b") = 1
    assert textqa_f1("Ответ: b) Пушкин", ["Пушкин", "b"]) == 1.0


def test_textqa_letter_fallback_replaces_a_better_score():
    # pred [дом, у, река, see], gold [большой, дом]: common 1, P = 1/4, R = 1/2, F1 = (1/4)/(3/4) = 1/3
    # 1/3 <= 0.5 and "see" holds "e" -> rescored with "e" alone -> 0, which REPLACES 1/3
    assert textqa_f1("дом у реки (see)", ["большой дом"]) == 0.0
    # the same words without a Latin a-e keep their F1: [дом, у, река] -> P = 1/3, R = 1/2, F1 = 0.4
    assert textqa_f1("дом у реки", ["большой дом"]) == pytest.approx(0.4)


def test_textqa_no_fallback_for_uppercase_letter():
    # [вариант, b, верный] vs [b]: P = 1/3, R = 1 -> F1 = 0.5; "B" is not matched by [abcde]
    assert textqa_f1("Вариант B верный", ["b"]) == pytest.approx(0.5)


def test_textqa_empty_sides():
    assert textqa_f1("", ["Толстой"]) == 0.0
    assert textqa_f1("!!!", ["?"]) == 1.0  # both normalise to no tokens: 1 (SQuAD rule)
    assert textqa_f1("два", ["2"]) == 1.0  # number lemma map


# --------------------------------------------------------------------------------------------- MathQA
def test_mathqa_exact_keeps_minus_sign():
    assert mathqa_exact("-5", ["-5"]) == 1.0
    assert mathqa_exact("5", ["-5"]) == 0.0


def test_mathqa_letter_fallback():
    # "c) 7" -> "c 7" != "c" -> 0 -> fallback to "c" -> equals gold "c"
    assert mathqa_exact("c) 7", ["c", "7"]) == 1.0
    # "Answer: 3" -> "answer 3" != "3"; the raw text holds "e" (in "Answer") -> "e" != "3" -> 0
    assert mathqa_exact("Answer: 3", ["3"]) == 0.0
    assert mathqa_exact("Ответ: 3", ["3"]) == 0.0  # no Latin letter, no fallback, no partial credit
    assert mathqa_exact("три", ["3"]) == 1.0


# --------------------------------------------------------------------------------------------- TRitW
def test_levenshtein():
    assert levenshtein("kitten", "sitting") == 3  # k->s, e->i, +g
    assert levenshtein("", "abc") == 3
    assert levenshtein("кот", "кот") == 0


def test_tritw_golden_values():
    assert tritw_ned("кот", ["кит"]) == pytest.approx(1 - 1 / 3)  # one substitution over 3 chars
    assert tritw_ned("Выходы", ["Выход"]) == pytest.approx(1 - 1 / 6)  # one insertion over max(6, 5)
    assert tritw_ned("стоп", ["СТОП"]) == 0.0  # case-sensitive: 4 substitutions over 4
    assert tritw_ned("кот", ["пёс", "кит"]) == pytest.approx(2 / 3)  # best option
    assert tritw_ned("", ["a"]) == 0.0 and tritw_ned("a", [""]) == 0.0  # an empty side scores 0


# --------------------------------------------------------------------------------------------- VisualQA
def test_meteor_whole_string_lemmatisation_quirk():
    # the phrase goes through the lemmatiser as ONE word: only its ending changes
    assert meteor_preprocess("красные машины") == "красные машина"
    assert meteor_preprocess("На велосипеде!") == "на велосипед"
    # hyp [красные, машина] vs ref [красная, машина]: 1 match ("машина"), P = R = 1/2
    # F = PR / (0.9P + 0.1R) = 0.25 / 0.5 = 0.5 (word-by-word lemmatisation would give 1.0)
    assert vqa_meteor("красные машины", ["красная машина"]) == pytest.approx(0.5)


def test_meteor_fmean_golden():
    # hyp [на, велосипед], ref [велосипед]: 1 match, P = 1/2, R = 1
    # F = 10PR / (R + 9P) = 5 / 5.5
    assert vqa_meteor("на велосипеде", ["велосипед"]) == pytest.approx(5 / 5.5)
    assert vqa_meteor("на велосипеде", ["на велосипеде"]) == 1.0


def test_meteor_has_no_fragmentation_penalty():
    # both words match, in swapped order: P = R = 1 -> 1.0 with gamma = 0 (0.5 with NLTK's gamma 0.5)
    assert vqa_meteor("кот белый", ["белый кот"]) == 1.0


def test_meteor_stem_stage_uses_english_porter():
    # no exact match; Porter stems running->run, dogs->dog give 2 matches -> 1.0
    assert vqa_meteor("running dogs", ["run dog"]) == 1.0


def test_numeric_rule():
    assert vqa_meteor("я вижу 2 кота", ["4"]) == pytest.approx(0.5)  # min(2,4)/max(2,4)
    assert vqa_meteor("5", ["2"]) == pytest.approx(0.4)  # 2/5
    assert vqa_meteor("0", ["0"]) == 1.0  # both zero
    assert vqa_meteor("нет", ["3"]) == 0.0  # no number in the prediction
    assert vqa_meteor("три", ["3"]) == 1.0  # "три" -> lemma map -> "3"
    assert vqa_meteor("2 кота", ["два"]) == 1.0  # the gold "два" becomes "2" too
    assert vqa_meteor("two cats", ["4"]) == pytest.approx(0.5)  # English words -> "2 cats" -> 2/4
    assert vqa_meteor("3 и 4", ["4"]) == pytest.approx(0.75)  # the FIRST number counts: 3/4


def test_numeric_rule_only_for_single_token_gold():
    # gold "2 кота" is two tokens: plain METEOR, hyp [2, кот] vs ref [2, кот] -> 1.0
    assert vqa_meteor("2 кота", ["2 кота"]) == 1.0
    # hyp [3, кот] vs ref [2, кот]: 1 match, P = R = 1/2 -> 0.5 (no min/max closeness)
    assert vqa_meteor("3 кота", ["2 кота"]) == pytest.approx(0.5)


def test_vqa_best_over_options_and_empty():
    assert vqa_meteor("на велосипеде", ["на лошади", "на велосипеде"]) == 1.0
    assert vqa_meteor("", ["кот"]) == 0.0
    assert vqa_meteor("кот", []) == 0.0


def test_registry_lists_the_four_text_metrics():
    assert set(TEXT_METRICS) == {"textqa_f1", "mathqa_exact", "tritw_ned", "vqa_meteor"}


def test_every_text_metric_takes_the_same_arguments():
    # (prediction, golds, synonyms): only METEOR reads the synonym source, the others accept it.
    for name, function in TEXT_METRICS.items():
        assert function("Толстой", ["Толстой"], None) == 1.0, name
        assert function("Толстой", ["Пушкин"], None) == function("Толстой", ["Пушкин"]), name

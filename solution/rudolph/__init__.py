"""RUDOLPH: checkpoint-compatible model, masks, tokenizer and fast generation."""

from .checkpoint import load_model, load_state_dict, read_state_dict, save_model
from .config import CONFIGS, RudolphConfig, get_config
from .generation import (
    BASELINE_IMAGE_SAMPLING,
    BASELINE_TEXT_SAMPLING,
    DECODING_MODES,
    GREEDY,
    DecodeEngine,
    Sampling,
    generate_image_tokens,
    generate_right_text,
    sample_next,
    score_right_texts,
)
from .masks import MASK_KINDS, build_mask, layer_mask_kind
from .model import DTYPES, KVCache, Rudolph, build_model

__all__ = [
    "BASELINE_IMAGE_SAMPLING", "BASELINE_TEXT_SAMPLING", "CONFIGS", "DECODING_MODES", "DTYPES", "DecodeEngine", "GREEDY", "KVCache", "MASK_KINDS", "Rudolph",
    "RudolphConfig", "Sampling", "build_mask", "build_model", "generate_image_tokens", "generate_right_text",
    "get_config", "layer_mask_kind", "load_model", "load_state_dict", "read_state_dict", "sample_next",
    "save_model", "score_right_texts",
]

"""RUDOLPH: checkpoint-compatible model, masks, tokenizer and fast generation."""

from .checkpoint import load_model, load_state_dict, read_state_dict, save_model
from .config import CONFIGS, RudolphConfig, get_config
from .generation import (
    DECODING_MODES,
    DecodeEngine,
    generate_image_tokens,
    generate_right_text,
    score_right_texts,
)
from .masks import MASK_KINDS, build_mask, layer_mask_kind
from .model import DTYPES, KVCache, Rudolph, build_model
from .sampling import BASELINE_IMAGE_SAMPLING, BASELINE_TEXT_SAMPLING, GREEDY, Sampling, row_seed, sample_next

__all__ = [
    "BASELINE_IMAGE_SAMPLING", "BASELINE_TEXT_SAMPLING", "CONFIGS", "DECODING_MODES", "DTYPES", "DecodeEngine", "GREEDY", "KVCache", "MASK_KINDS", "Rudolph",
    "RudolphConfig", "Sampling", "build_mask", "build_model", "generate_image_tokens", "generate_right_text",
    "get_config", "layer_mask_kind", "load_model", "load_state_dict", "read_state_dict", "row_seed", "sample_next",
    "save_model", "score_right_texts",
]

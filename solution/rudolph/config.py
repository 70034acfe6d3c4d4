"""RUDOLPH hyper-parameters and the registry of published configurations.

The names are the official ones (``model_params`` of the reference ``rudolph`` package), so a
params dict copied from the reference code or a model card works unchanged.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

# Keys the reference code carries in its params dicts that do not change the computation.
_IGNORED_PARAMS = {"mlp_activation", "hf_version", "description", "cogview_layernorm_prescale", "custom_relax",
                   "is_bool_mask", "gradient_checkpointing", "device"}


@dataclass(frozen=True)
class RudolphConfig:
    num_layers: int
    hidden_size: int
    num_attention_heads: int
    l_text_seq_length: int
    image_tokens_per_dim: int
    r_text_seq_length: int
    kernel_size: int
    last_kernel_size: int
    text_special_tokens: int
    image_special_tokens: int
    vocab_size: int
    image_vocab_size: int = 8192
    embedding_dropout_prob: float = 0.0
    attention_dropout_prob: float = 0.0
    output_dropout_prob: float = 0.0
    cogview_sandwich_layernorm: bool = True
    # PB-relax subtracts a per-head constant before the softmax: it never changes the result, so
    # the flag is accepted for compatibility and has no effect here.
    cogview_pb_relax: bool = True

    def __post_init__(self):
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by "
                             f"num_attention_heads {self.num_attention_heads}")
        for name in ("num_layers", "l_text_seq_length", "image_tokens_per_dim", "r_text_seq_length",
                     "kernel_size", "last_kernel_size", "vocab_size", "image_vocab_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("embedding_dropout_prob", "attention_dropout_prob", "output_dropout_prob"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must lie in [0, 1), got {getattr(self, name)}")
        if self.l_text_seq_length < 3 or self.r_text_seq_length < 3:
            raise ValueError("l_text_seq_length and r_text_seq_length must hold at least bos, a special token and eos")

    # Derived sizes (spec section 1-2).
    @property
    def text_vocab(self) -> int:
        """V_text: BPE vocabulary plus text special tokens; text logits are columns [0, V_text)."""
        return self.vocab_size + self.text_special_tokens

    @property
    def image_vocab(self) -> int:
        """V_img: VQGAN codebook plus image special tokens; image logits follow the text ones."""
        return self.image_vocab_size + self.image_special_tokens

    @property
    def image_seq_length(self) -> int:
        return self.image_tokens_per_dim ** 2

    @property
    def seq_length(self) -> int:
        return self.l_text_seq_length + self.image_seq_length + self.r_text_seq_length

    @property
    def parts(self) -> dict[str, tuple[int, int]]:
        """Absolute ``[start, end)`` of each part of the sequence, in order."""
        image_start = self.l_text_seq_length
        right_start = image_start + self.image_seq_length
        return {"left": (0, image_start), "image": (image_start, right_start), "right": (right_start, self.seq_length)}

    @property
    def pad_position_start(self) -> int:
        """``V_text - l``: the first pad-position id. A left-text pad (0) at position ``i`` is embedded
        as id ``pad_position_start + i``; generation treats any sampled id from here on as eos."""
        return self.text_vocab - self.l_text_seq_length

    def pad_position_ids(self, positions):
        """The pad-position ids of left-text positions ``positions`` (an int or a tensor)."""
        return self.pad_position_start + positions

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> RudolphConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(params) - known - _IGNORED_PARAMS
        if unknown:
            raise ValueError(f"unknown RUDOLPH parameter(s) {sorted(unknown)}; expected some of {sorted(known)}")
        activation = params.get("mlp_activation", "gelu_jit")
        if activation not in ("gelu", "gelu_jit"):
            raise ValueError(f"mlp_activation {activation!r} is not supported (only the tanh GELU of the published models)")
        missing = [name for name in _REQUIRED if name not in params]
        if missing:
            raise ValueError(f"missing RUDOLPH parameter(s) {missing}")
        return cls(**{k: v for k, v in params.items() if k in known})

    def to_params(self) -> dict[str, Any]:
        return asdict(self)


_REQUIRED = ("num_layers", "hidden_size", "num_attention_heads", "l_text_seq_length", "image_tokens_per_dim",
             "r_text_seq_length", "kernel_size", "last_kernel_size", "text_special_tokens",
             "image_special_tokens", "vocab_size")


# Published configurations (spec section 6) plus small ones for tests, demos and benchmarks.
CONFIGS: dict[str, dict[str, Any]] = {
    "350M": dict(num_layers=24, hidden_size=1024, num_attention_heads=16, l_text_seq_length=64,
                 image_tokens_per_dim=16, r_text_seq_length=64, kernel_size=7, last_kernel_size=9,
                 text_special_tokens=384, image_special_tokens=384, vocab_size=16384 + 64, image_vocab_size=8192),
    "350M-v1": dict(num_layers=24, hidden_size=1024, num_attention_heads=16, l_text_seq_length=64,
                    image_tokens_per_dim=16, r_text_seq_length=64, kernel_size=7, last_kernel_size=9,
                    text_special_tokens=0, image_special_tokens=0, vocab_size=16384 + 64, image_vocab_size=8192),
    "1.3B": dict(num_layers=24, hidden_size=2048, num_attention_heads=16, l_text_seq_length=128,
                 image_tokens_per_dim=32, r_text_seq_length=128, kernel_size=9, last_kernel_size=11,
                 text_special_tokens=2048, image_special_tokens=64, vocab_size=16384 + 128, image_vocab_size=8192),
    "2.7B": dict(num_layers=32, hidden_size=2560, num_attention_heads=32, l_text_seq_length=384,
                 image_tokens_per_dim=24, r_text_seq_length=128, kernel_size=7, last_kernel_size=9,
                 text_special_tokens=1024, image_special_tokens=1024, vocab_size=16384 + 384, image_vocab_size=8192),
    # A tiny model for unit tests: every mask kind appears (8 layers: row col row conv row col row last-conv).
    "tiny": dict(num_layers=8, hidden_size=64, num_attention_heads=4, l_text_seq_length=24,
                 image_tokens_per_dim=4, r_text_seq_length=12, kernel_size=3, last_kernel_size=5,
                 text_special_tokens=16, image_special_tokens=8, vocab_size=512, image_vocab_size=64),
    # The first demo model (docs/training.md): 5.5M parameters trained on 2 CPU cores with a VQGAN of
    # downsampling 4 (training/configs/vqgan/demo32.json: 8x8 codes of 32px images, 256 codes) and a 1000-token
    # BPE (+17 task tokens <= 1024); 64 text specials = the l pad-position ids.
    "demo": dict(num_layers=6, hidden_size=256, num_attention_heads=4, l_text_seq_length=64,
                 image_tokens_per_dim=8, r_text_seq_length=20, kernel_size=5, last_kernel_size=7,
                 text_special_tokens=64, image_special_tokens=0, vocab_size=1024, image_vocab_size=256),
}
CONFIGS["2.7B-FBC2"] = dict(CONFIGS["2.7B"])
# The bundled demo model (weights/demo, scripts/train_demo.sh): the demo model over finer image codes,
# training/configs/vqgan/demo64-f4.json, 16x16 codes of 64px images (downsampling 4), 512 codes; the sequence is
# 64 + 256 + 20 tokens; 5.6M parameters. Its finer codes are what lets it read TRitW signs.
CONFIGS["demo-m16"] = dict(CONFIGS["demo"], image_tokens_per_dim=16, image_vocab_size=512)


def get_config(name_or_params: str | dict[str, Any] | RudolphConfig | Path) -> RudolphConfig:
    """A config from a registry name, a params dict, a JSON file path, or a config itself."""
    if isinstance(name_or_params, RudolphConfig):
        return name_or_params
    if isinstance(name_or_params, dict):
        return RudolphConfig.from_params(name_or_params)
    name = str(name_or_params)
    if name in CONFIGS:
        return RudolphConfig.from_params(CONFIGS[name])
    path = Path(name)
    if path.suffix == ".json" and path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        return RudolphConfig.from_params(data.get("model_params", data))
    raise ValueError(f"unknown RUDOLPH config {name!r}: use one of {sorted(CONFIGS)} or a JSON file of params")

"""How many samples decode together on a GPU: as many as free memory holds, up to a cap.

Per sample the static KV cache costs ``2 x layers x S x hidden x bytes`` (356 MB at 2.7B in fp16)
and the prefill's activations about ``8 x S x hidden x bytes`` more (the MLP's 4h, q/k/v, the
residual). What does not grow with the batch is kept aside: a fixed reserve for the VQGAN (run in
chunks), option scoring (a fixed number of candidate tokens per pass), CUDA graph pools and the
allocator's fragmentation, plus a fraction of the free memory.
"""

from __future__ import annotations

from .config import RudolphConfig
from .model import KVCache

MAX_AUTO_BATCH = 64
RESERVE_BYTES = 3 * 2**30
RESERVE_FRACTION = 0.1
CPU_BATCH = 4


def bytes_per_sample(config: RudolphConfig, bytes_per_value: int) -> int:
    prefill = 8 * config.seq_length * config.hidden_size * bytes_per_value
    return KVCache.bytes_per_sample(config, bytes_per_value) + prefill


def auto_batch_size(config: RudolphConfig, bytes_per_value: int, free_bytes: int, cap: int = MAX_AUTO_BATCH) -> int:
    """The batch size that ``free_bytes`` of GPU memory (after the weights are loaded) allows, 1..cap."""
    usable = free_bytes * (1 - RESERVE_FRACTION) - RESERVE_BYTES
    return max(1, min(cap, int(usable // bytes_per_sample(config, bytes_per_value))))

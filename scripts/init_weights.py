#!/usr/bin/env python3
"""Write a complete weights directory with random weights: RUDOLPH at a registry configuration,
a VQGAN of the matching size, and a BPE model trained on given or bundled texts.

Random weights answer nonsense, but they run every code path at the real shapes: use them in tests
and to check a configuration's speed and memory before real weights are at hand.

  python scripts/init_weights.py --config tiny --out weights/tiny
  python scripts/init_weights.py --config 2.7B-FBC2 --out /tmp/w27 --texts my_texts.txt
  python3 scripts/init_weights.py --config 2.7B-FBC2 --out /tmp/w27 --bpe weights/demo/bpe.model \
      --device cuda --dtype fp16          # 5.4 GB written in fp16, made on the GPU, no BPE training

An --out that is not empty (weights/demo, say) is refused unless --overwrite.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fbc2_io.console import make_console_safe  # noqa: E402
from fbc2_tools.quiet import quiet_output, silence_library_warnings, verbose_requested  # noqa: E402

silence_library_warnings(verbose_requested())  # before torch is imported (its pynvml FutureWarning)
import torch  # noqa: E402

from solution.rudolph import CONFIGS, DTYPES, build_model, get_config  # noqa: E402
from solution.rudolph.tokenizer import SPECIAL_TOKENS, train_bpe  # noqa: E402
from solution.vqgan import build_vqgan, get_vqgan_config  # noqa: E402
from solution.weights import write_weights_dir  # noqa: E402

# The VQGAN each RUDOLPH configuration is paired with.
VQGAN_FOR_CONFIG = {"tiny": "tiny"}
DEFAULT_TEXTS = ROOT / "sample_input"


def texts_from_fbc2_folder(folder: Path) -> list[str]:
    """Every text string of an FBC2 folder's input.json and ground_truth.json."""
    texts = []
    for name in ("input.json", "ground_truth.json"):
        path = folder / name
        if not path.is_file():
            continue
        for items in json.loads(path.read_text(encoding="utf-8")).values():
            for item in items if isinstance(items, list) else [items]:
                if isinstance(item, dict) and item.get("type") == "text":
                    content = item.get("content")
                    texts.extend(content if isinstance(content, list) else [content])
    return [t for t in texts if isinstance(t, str) and t.strip()]


def load_texts(source: Path) -> list[str]:
    if source.is_dir():
        texts = texts_from_fbc2_folder(source)
    elif source.is_file():
        texts = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        raise SystemExit(f"init_weights: texts not found: {source}")
    if not texts:
        raise SystemExit(f"init_weights: no texts in {source}")
    return texts


def main(argv=None) -> None:
    make_console_safe()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, choices=sorted(CONFIGS), help="RUDOLPH configuration")
    p.add_argument("--out", required=True, type=Path, help="weights directory to write")
    p.add_argument("--texts", type=Path, default=DEFAULT_TEXTS,
                   help="a text file (one text per line) or an FBC2 folder to train the BPE on (default: sample_input/)")
    p.add_argument("--bpe-vocab", type=int, default=0, help="BPE vocabulary size (default: what the texts and model allow, at most 1000)")
    p.add_argument("--vqgan-config", default=None, help="VQGAN configuration (default: tiny for tiny, else sber-gumbelf8)")
    p.add_argument("--bpe", type=Path, default=None,
                   help="copy this BPE model instead of training one (needs no youtokentome)")
    p.add_argument("--device", default="cpu", help="where the random weights are made (default cpu)")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="fp32", help="dtype of the written weights (default fp32)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace the files of an --out that is not empty")
    p.add_argument("--verbose", action="store_true", help="show library warnings and youtokentome's own output")
    args = p.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        raise SystemExit(f"init_weights: --out {args.out} is a file, not a folder")
    if args.out.is_dir() and any(args.out.iterdir()) and not args.overwrite:
        raise SystemExit(f"init_weights: --out {args.out} is not empty: pass --overwrite to replace its weights "
                         "with random ones, or choose another folder")

    config = get_config(args.config)
    room = config.vocab_size - len(SPECIAL_TOKENS)
    bpe_vocab = args.bpe_vocab or min(1000, room)
    if bpe_vocab > room:
        raise SystemExit(f"init_weights: --bpe-vocab {bpe_vocab} leaves no room for the {len(SPECIAL_TOKENS)} task "
                         f"tokens in vocab_size {config.vocab_size}")
    vqgan_name = args.vqgan_config or VQGAN_FOR_CONFIG.get(args.config, "sber-gumbelf8")
    vqgan_config = get_vqgan_config(vqgan_name)
    if vqgan_config["n_embed"] != config.image_vocab_size:
        raise SystemExit(f"init_weights: VQGAN {vqgan_name} has {vqgan_config['n_embed']} codes, "
                         f"config {args.config} expects {config.image_vocab_size}")

    args.out.mkdir(parents=True, exist_ok=True)
    if args.bpe is not None:
        if not args.bpe.is_file():
            raise SystemExit(f"init_weights: --bpe {args.bpe} is not a file")
        bpe_path = args.bpe
    else:
        texts = load_texts(args.texts)
        bpe_path = args.out / "bpe.model"
        print(f"training BPE ({bpe_vocab} tokens) on {len(texts)} texts from {args.texts}")
        try:
            with quiet_output(args.verbose):  # youtokentome prints its parameters and steps (C++ stderr)
                train_bpe(texts, bpe_path, bpe_vocab)
        except Exception as e:  # youtokentome raises plain ValueError/RuntimeError with its own words
            raise SystemExit(f"init_weights: BPE training failed ({e}); try a smaller --bpe-vocab or more texts") from None

    torch.manual_seed(args.seed)
    print(f"building RUDOLPH {args.config} and VQGAN {vqgan_name} with random weights ({args.dtype} on {args.device})")
    model = build_model(config, args.device, DTYPES[args.dtype])
    vqgan = build_vqgan(vqgan_config["ddconfig"], vqgan_config["n_embed"], vqgan_config["embed_dim"])
    write_weights_dir(args.out, model, bpe_path, vqgan, vqgan_config)
    n = sum(p.numel() for p in model.parameters())
    print(f"wrote {args.out}: RUDOLPH {n / 1e6:.1f}M parameters, image {vqgan.image_size(config.image_tokens_per_dim)}px")


if __name__ == "__main__":
    main()

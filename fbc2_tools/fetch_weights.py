"""Fetch the published weights into the folders ``run.py`` and the evaluator read.

  fbc2-fetch-weights --model 2.7B-FBC2 --out weights/rudolph-2.7b-fbc2   # RUDOLPH + bpe.model + Sber-VQGAN
  fbc2-fetch-weights --evaluator --out weights/evaluator                 # ruCLIP + the FID Inception

Hugging Face files come through ``huggingface_hub`` and its cache (``HF_HUB_CACHE``, or ``--cache-dir``);
with ``HF_HUB_OFFLINE=1`` only the cache is read. The FID Inception is not on the hub: it comes from
pytorch-fid's release through torch.hub's cache (``TORCH_HOME``). Every file is checked against the
size and sha256 recorded below when one is recorded, and against the sha256 the hub reported for it
(an LFS file's cache blob is named by its sha256); then the folder is checked by the code that will
read it (``solution.weights``, ``evaluator.metrics.ruclip``, ``evaluator.metrics.fid``) and the flags to pass are printed.
Files are hard-linked from the cache when it is on the same file system, else copied.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

PROG = "fetch_weights"


class FetchError(RuntimeError):
    """A file that cannot be had or does not match its record: one line for the user."""


@dataclass(frozen=True)
class Remote:
    """One published file and what is recorded about it (None: no public source records it)."""

    repo: str | None  # Hugging Face repository; None for a plain URL
    name: str  # file name in the repository (or the URL's last part)
    target: str  # path inside the output folder
    url: str | None = None
    size: int | None = None
    sha256: str | None = None
    sha256_prefix: str | None = None  # torch.hub's convention: the file name carries the digest's start

    @property
    def where(self) -> str:
        return f"{self.repo}/{self.name}" if self.repo else self.url


# The repositories and file names are those of the public loaders (ai-forever/ru-dolph, ru-dalle,
# ru-clip, pytorch-fid). No public source records the sizes or sha256 sums of these files, so none
# is written here: the hub's own sha256 of each LFS file is checked instead (see verify()).
RUDOLPH_MODELS: dict[str, Remote] = {
    "2.7B-FBC2": Remote("sberbank-ai/RUDOLPH-2.7B-FBC2", "pytorch_model.bin", "pytorch_model.bin"),
    "2.7B": Remote("sberbank-ai/RUDOLPH-2.7B", "pytorch_model.bin", "pytorch_model.bin"),
    "1.3B": Remote("sberbank-ai/RUDOLPH-1.3B", "pytorch_model.bin", "pytorch_model.bin"),
    "350M": Remote("sberbank-ai/RuDOLPH-350M", "pytorch_model.bin", "pytorch_model.bin"),
}
BPE = Remote("shonenkov/rudalle-utils", "bpe.model", "bpe.model")
VQGAN = Remote("sberbank-ai/rudalle-utils", "vqgan.gumbelf8-sber.model.ckpt", "vqgan.gumbelf8-sber.model.ckpt")
RUCLIP_NAME = "ruclip-vit-large-patch14-336"
RUCLIP = tuple(Remote(f"ai-forever/{RUCLIP_NAME}", name, f"{RUCLIP_NAME}/{name}")
               for name in ("config.json", "pytorch_model.bin", "bpe.model"))
FID_NAME = "pt_inception-2015-12-05-6726825d.pth"
FID = Remote(None, FID_NAME, FID_NAME, url=f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{FID_NAME}",
             sha256_prefix="6726825d")

SOURCES_FILE = "SOURCES.json"  # what fetch_weights wrote: origin, size and sha256 of every file
HEX64 = re.compile(r"[0-9a-f]{64}")


def offline() -> bool:
    """HF_HUB_OFFLINE read at call time (huggingface_hub reads it once, at import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- getting one file into a local cache -------------------------------------------------------------

def from_hub(remote: Remote, cache_dir: str | None) -> Path:
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    except ModuleNotFoundError:
        raise FetchError("huggingface_hub is not installed: pip install huggingface_hub "
                         "(or bash scripts/install.sh)") from None
    try:
        return Path(hf_hub_download(remote.repo, remote.name, cache_dir=cache_dir, local_files_only=offline()))
    except LocalEntryNotFoundError:
        how = "HF_HUB_OFFLINE is set" if offline() else "the hub cannot be reached"
        raise FetchError(f"{remote.where} is not in the Hugging Face cache ({cache_dir or 'the default cache'}) "
                         f"and {how}: connect to the network once, or copy a cache that holds it") from None
    except (HfHubHTTPError, OSError) as error:
        raise FetchError(f"cannot get {remote.where}: {str(error).splitlines()[0]}") from None


def from_url(remote: Remote) -> Path:
    import torch.hub  # torch only for a URL download: --help and the Hugging Face files do without it

    cached = Path(torch.hub.get_dir()) / "checkpoints" / remote.name
    if cached.is_file():
        return cached
    if offline():
        raise FetchError(f"{remote.name} is not in torch.hub's cache ({cached.parent}) and HF_HUB_OFFLINE is set: "
                         f"download {remote.url} there once")
    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(remote.url, str(cached), hash_prefix=remote.sha256_prefix, progress=True)
    except Exception as error:  # network errors of urllib, or torch.hub's hash check
        raise FetchError(f"cannot download {remote.url}: {str(error).splitlines()[0]}") from None
    return cached


def fetch(remote: Remote, cache_dir: str | None) -> Path:
    return from_hub(remote, cache_dir) if remote.repo else from_url(remote)


# -- checking and placing it -------------------------------------------------------------------------

def verify(remote: Remote, path: Path) -> dict:
    """Size and sha256 of the fetched file, checked against what is recorded and what the hub reported."""
    real = Path(os.path.realpath(path))
    size, digest = real.stat().st_size, sha256_of(real)
    if remote.size is not None and size != remote.size:
        raise FetchError(f"{remote.where}: {size} bytes, expected {remote.size} ({real})")
    if remote.sha256 is not None and digest != remote.sha256:
        raise FetchError(f"{remote.where}: sha256 {digest}, expected {remote.sha256} ({real})")
    if remote.sha256_prefix is not None and not digest.startswith(remote.sha256_prefix):
        raise FetchError(f"{remote.where}: sha256 {digest} does not start with {remote.sha256_prefix}, "
                         f"the prefix its name records ({real})")
    hub_sha = real.name if remote.repo and HEX64.fullmatch(real.name) else None
    if hub_sha is not None and digest != hub_sha:
        raise FetchError(f"{remote.where}: the cached file is damaged (sha256 {digest}, the hub reported {hub_sha}): "
                         f"delete {real} and fetch again")
    checked = [what for what, known in (("recorded size", remote.size), ("recorded sha256", remote.sha256),
                                        ("sha256 prefix of the name", remote.sha256_prefix),
                                        ("the hub's sha256", hub_sha)) if known]
    revision = path.parent.name if remote.repo and path.parent.parent.name == "snapshots" else None
    return {"source": remote.where, "revision": revision, "size": size, "sha256": digest,
            "checked": checked or ["nothing recorded: sha256 written for later checks"]}


def place(source: Path, target: Path) -> None:
    """Hard-link the cached file into the folder (copy across file systems); an identical file stays."""
    source = Path(os.path.realpath(source))
    if target.is_file() and not target.is_symlink():
        if os.path.samefile(source, target):
            return
        if target.stat().st_size == source.stat().st_size and sha256_of(target) == sha256_of(source):
            return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def fetch_all(remotes: list[Remote], out: Path, cache_dir: str | None) -> dict:
    records = {}
    for remote in remotes:
        print(f"{PROG}: {remote.where}", file=sys.stderr, flush=True)
        path = fetch(remote, cache_dir)
        records[remote.target] = verify(remote, path)
        place(path, out / remote.target)
    return records


def write_sources(out: Path, records: dict, extra: dict) -> None:
    data = {**extra, "files": records}
    (out / SOURCES_FILE).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def one_line(error: Exception, limit: int = 400) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[:limit] + " ..."


# -- the two kinds of folder ---------------------------------------------------------------------------

def fetch_model(name: str, out: Path, cache_dir: str | None, load: bool) -> str:
    from solution.weights import WeightsError, load_weights, resolve_weights  # torch: start-up time of --help

    out.mkdir(parents=True, exist_ok=True)
    records = fetch_all([RUDOLPH_MODELS[name], BPE, VQGAN], out, cache_dir)
    (out / "config.json").write_text(json.dumps({"name": name}) + "\n", encoding="utf-8")
    write_sources(out, records, {"model": name})
    try:
        paths = resolve_weights(out)
        shadowing = [p.name for p, fetched in ((paths.rudolph, RUDOLPH_MODELS[name]), (paths.vqgan, VQGAN))
                     if p.name != fetched.target]
        if shadowing:
            raise FetchError(f"{out} also holds {', '.join(shadowing)}, which run.py would read instead of the "
                             "fetched files: remove it or choose another --out")
        if load:
            load_weights(out, device="cpu")
    except (WeightsError, ValueError, FileNotFoundError) as error:
        raise FetchError(f"solution.weights refuses {out}: {one_line(error)}") from None
    return f"python3 run.py --weights {out}"


def fetch_evaluator(out: Path, cache_dir: str | None, load: bool) -> str:
    # the evaluator (and torch) only for --evaluator: fetching RUDOLPH never loads it (start-up time)
    from evaluator.errors import WeightsUnavailable
    from evaluator.metrics.fid import load_inception  # likewise
    from evaluator.metrics.ruclip import load_ruclip  # likewise

    out.mkdir(parents=True, exist_ok=True)
    records = fetch_all([*RUCLIP, FID], out, cache_dir)
    write_sources(out, records, {"evaluator": [RUCLIP_NAME, FID_NAME]})
    clip_dir, fid_file = out / RUCLIP_NAME, out / FID_NAME
    if load:
        try:
            load_ruclip(str(clip_dir))
            load_inception(str(fid_file))
        except WeightsUnavailable as error:
            raise FetchError(one_line(error)) from None
    return f"python3 -m evaluator score ... --clip-weights {clip_dir} --inception-weights {fid_file}"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fetch_weights.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", choices=list(RUDOLPH_MODELS),
                      help="a published RUDOLPH: its checkpoint, ruDALL-E's bpe.model and the Sber-VQGAN")
    what.add_argument("--evaluator", action="store_true",
                      help=f"the evaluator's weights: {RUCLIP_NAME}/ and {FID_NAME}")
    p.add_argument("--out", type=Path, required=True, help="the folder to fill (created; identical files are kept)")
    p.add_argument("--cache-dir", help="Hugging Face cache (default: HF_HUB_CACHE or ~/.cache/huggingface/hub)")
    p.add_argument("--verbose", action="store_true", help="show library warnings")
    p.add_argument("--load", action=argparse.BooleanOptionalAction, default=None,
                   help="also load the weights on CPU to check them (default: on for --evaluator; for --model "
                        "only the layout is checked, as loading 2.7B takes about 11 GB of memory)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        print(f"{PROG}: error: --out {args.out} is a file, not a folder", file=sys.stderr)
        return 2
    try:
        if args.evaluator:
            line = fetch_evaluator(args.out, args.cache_dir, load=args.load is not False)
        else:
            line = fetch_model(args.model, args.out, args.cache_dir, load=bool(args.load))
    except FetchError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    print(f"{PROG}: {args.out} is complete ({SOURCES_FILE} lists each file's source and sha256); use:")
    print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

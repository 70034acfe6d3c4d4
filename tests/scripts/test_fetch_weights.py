"""fbc2_tools.fetch_weights (scripts/fetch_weights.py) against a Hugging Face cache built here: never the network."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("huggingface_hub")

from fbc2_tools import fetch_weights as fw  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def put_in_cache(cache: Path, repo: str, filename: str, data: bytes, lfs: bool = True) -> Path:
    """The hub cache layout: blobs/<etag>, snapshots/<commit>/<file> -> blob, refs/main = commit.
    An LFS file's etag is its sha256; a small git file's is a 40-hex git hash."""
    repo_dir = cache / ("models--" + repo.replace("/", "--"))
    commit = hashlib.sha1(repo.encode()).hexdigest()
    etag = hashlib.sha256(data).hexdigest() if lfs else hashlib.sha1(data).hexdigest()
    (repo_dir / "blobs").mkdir(parents=True, exist_ok=True)
    (repo_dir / "blobs" / etag).write_bytes(data)
    snapshot = repo_dir / "snapshots" / commit / filename
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    snapshot.unlink(missing_ok=True)
    snapshot.symlink_to(os.path.relpath(repo_dir / "blobs" / etag, snapshot.parent))
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(commit)
    return repo_dir / "blobs" / etag


@pytest.fixture
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return tmp_path / "hub"


def model_cache(cache: Path, tiny_weights: Path, name: str = "2.7B-FBC2") -> dict[str, bytes]:
    """The three published files of a model, made small: the tiny RUDOLPH state dict saved as the published
    pytorch_model.bin, the tiny BPE, the tiny VQGAN saved as a Lightning-style checkpoint."""
    from safetensors.torch import load_file

    files = {}
    for remote, data in ((fw.RUDOLPH_MODELS[name], _torch_bytes(load_file(tiny_weights / "rudolph.safetensors"))),
                         (fw.BPE, (tiny_weights / "bpe.model").read_bytes()),
                         (fw.VQGAN, _torch_bytes({"state_dict": load_file(tiny_weights / "vqgan.safetensors")}))):
        put_in_cache(cache, remote.repo, remote.name, data)
        files[remote.target] = data
    return files


def _torch_bytes(obj) -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_a_model_folder_from_the_cache_offline(offline, tiny_weights, tmp_path, capsys):
    files = model_cache(offline, tiny_weights)
    out = tmp_path / "w"
    assert fw.main(["--model", "2.7B-FBC2", "--out", str(out), "--cache-dir", str(offline)]) == 0
    for name, data in files.items():
        assert (out / name).read_bytes() == data
    assert json.loads((out / "config.json").read_text()) == {"name": "2.7B-FBC2"}
    sources = json.loads((out / fw.SOURCES_FILE).read_text())
    record = sources["files"]["pytorch_model.bin"]
    assert record["source"] == "sberbank-ai/RUDOLPH-2.7B-FBC2/pytorch_model.bin"
    assert record["sha256"] == hashlib.sha256(files["pytorch_model.bin"]).hexdigest()
    assert record["size"] == len(files["pytorch_model.bin"])
    assert record["revision"] == hashlib.sha1(b"sberbank-ai/RUDOLPH-2.7B-FBC2").hexdigest()
    assert record["checked"] == ["the hub's sha256"]
    assert f"python3 run.py --weights {out}" in capsys.readouterr().out
    from solution.weights import resolve_weights

    paths = resolve_weights(out)
    assert (paths.rudolph.name, paths.vqgan.name) == ("pytorch_model.bin", "vqgan.gumbelf8-sber.model.ckpt")
    # a second run over a complete folder keeps it and succeeds
    assert fw.main(["--model", "2.7B-FBC2", "--out", str(out), "--cache-dir", str(offline)]) == 0


def test_load_loads_the_folder_with_solution_weights(offline, tiny_weights, tmp_path, monkeypatch, capsys):
    # the tiny model under a registry name of its own, with the tiny VQGAN's config beside it
    monkeypatch.setitem(fw.RUDOLPH_MODELS, "tiny", fw.Remote("test/tiny", "pytorch_model.bin", "pytorch_model.bin"))
    model_cache(offline, tiny_weights, "tiny")
    out = tmp_path / "w"
    out.mkdir()
    (out / "vqgan_config.json").write_text((tiny_weights / "vqgan_config.json").read_text())
    assert fw.main(["--model", "tiny", "--out", str(out), "--cache-dir", str(offline), "--load"]) == 0
    from solution.weights import load_weights

    assert load_weights(out).model.config.num_layers == 8


def test_load_names_a_checkpoint_of_another_model(offline, tiny_weights, tmp_path, capsys):
    model_cache(offline, tiny_weights)  # tiny tensors under the 2.7B-FBC2 name
    code = fw.main(["--model", "2.7B-FBC2", "--out", str(tmp_path / "w"), "--cache-dir", str(offline), "--load"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err[:3] == [f"fetch_weights: {r.where}" for r in (fw.RUDOLPH_MODELS["2.7B-FBC2"], fw.BPE, fw.VQGAN)]
    assert len(err) == 4 and err[3].startswith("fetch_weights: error: solution.weights refuses")
    assert "transformer.layers.10" in err[3]  # the 2.7B layers the tiny checkpoint lacks


def test_a_file_in_neither_cache_nor_network_is_one_line(offline, tmp_path, capsys):
    code = fw.main(["--model", "350M", "--out", str(tmp_path / "w"), "--cache-dir", str(offline)])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err[-1] == (f"fetch_weights: error: sberbank-ai/RuDOLPH-350M/pytorch_model.bin is not in the Hugging Face "
                       f"cache ({offline}) and HF_HUB_OFFLINE is set: connect to the network once, or copy a cache that "
                       "holds it")


def test_a_damaged_cache_blob_is_refused(offline, tiny_weights, tmp_path, capsys):
    model_cache(offline, tiny_weights)
    blob = put_in_cache(offline, fw.BPE.repo, fw.BPE.name, b"the hub's bytes")
    blob.write_bytes(b"bytes damaged on disk")
    assert fw.main(["--model", "2.7B-FBC2", "--out", str(tmp_path / "w"), "--cache-dir", str(offline)]) == 1
    assert "shonenkov/rudalle-utils/bpe.model: the cached file is damaged" in capsys.readouterr().err


def test_recorded_size_and_sha256_are_checked(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    digest = hashlib.sha256(b"abc").hexdigest()
    good = fw.Remote("o/r", "f.bin", "f.bin", size=3, sha256=digest)
    assert fw.verify(good, path)["checked"] == ["recorded size", "recorded sha256"]
    with pytest.raises(fw.FetchError, match="3 bytes, expected 4"):
        fw.verify(fw.Remote("o/r", "f.bin", "f.bin", size=4), path)
    with pytest.raises(fw.FetchError, match=f"sha256 {digest}, expected 00"):
        fw.verify(fw.Remote("o/r", "f.bin", "f.bin", sha256="00" * 32), path)
    with pytest.raises(fw.FetchError, match="does not start with 6726825d"):
        fw.verify(fw.FID, path)


def evaluator_cache(cache: Path, torch_home: Path, tiny_weights: Path) -> Path:
    from evaluator.metrics.fid import build_inception
    from evaluator.metrics.ruclip import build_ruclip

    config = {"embed_dim": 16, "image_resolution": 28, "vision_layers": 2, "vision_width": 64,
              "vision_patch_size": 7, "context_length": 77, "vocab_size": 600, "transformer_width": 32,
              "transformer_heads": 2, "transformer_layers": 2}
    torch.manual_seed(0)
    for name, data in (("config.json", json.dumps(config).encode()),
                       ("pytorch_model.bin", _torch_bytes(build_ruclip(config).state_dict())),
                       ("bpe.model", (tiny_weights / "bpe.model").read_bytes())):
        put_in_cache(cache, f"ai-forever/{fw.RUCLIP_NAME}", name, data, lfs=name != "config.json")
    fid = torch_home / "hub" / "checkpoints" / fw.FID_NAME
    fid.parent.mkdir(parents=True)
    fid.write_bytes(_torch_bytes(build_inception(seed=0).state_dict()))
    return fid


def test_evaluator_weights_from_the_caches_offline(offline, tiny_weights, tmp_path, monkeypatch, capsys):
    fid = evaluator_cache(offline, tmp_path / "torch_home", tiny_weights)
    # a random Inception's sha256 cannot start with the published file's 6726825d: record its own prefix
    monkeypatch.setattr(fw, "FID", fw.Remote(None, fw.FID_NAME, fw.FID_NAME, url=fw.FID.url,
                                             sha256_prefix=fw.sha256_of(fid)[:8]))
    out = tmp_path / "ev"
    assert fw.main(["--evaluator", "--out", str(out), "--cache-dir", str(offline)]) == 0
    assert (out / fw.FID_NAME).read_bytes() == fid.read_bytes()
    assert {p.name for p in (out / fw.RUCLIP_NAME).iterdir()} == {"config.json", "pytorch_model.bin", "bpe.model"}
    sources = json.loads((out / fw.SOURCES_FILE).read_text())["files"]
    assert sources[f"{fw.RUCLIP_NAME}/config.json"]["checked"] == ["nothing recorded: sha256 written for later checks"]
    assert sources[fw.FID_NAME]["checked"] == ["sha256 prefix of the name"]
    assert f"--clip-weights {out / fw.RUCLIP_NAME} --inception-weights {out / fw.FID_NAME}" in capsys.readouterr().out


def test_the_published_fid_prefix_refuses_another_file(offline, tiny_weights, tmp_path, capsys):
    evaluator_cache(offline, tmp_path / "torch_home", tiny_weights)
    assert fw.main(["--evaluator", "--out", str(tmp_path / "ev"), "--cache-dir", str(offline)]) == 1
    assert "does not start with 6726825d, the prefix its name records" in capsys.readouterr().err


def test_the_script_runs_offline_and_quietly(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "scripts/fetch_weights.py", "--model", "1.3B", "--out", str(tmp_path / "w"),
                           "--cache-dir", str(tmp_path / "empty")], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == ["fetch_weights: sberbank-ai/RUDOLPH-1.3B/pytorch_model.bin",
                                        f"fetch_weights: error: sberbank-ai/RUDOLPH-1.3B/pytorch_model.bin is not in "
                                        f"the Hugging Face cache ({tmp_path / 'empty'}) and HF_HUB_OFFLINE is set: "
                                        "connect to the network once, or copy a cache that holds it"]


def test_a_folder_whose_other_checkpoint_would_shadow_the_fetched_one_is_refused(offline, tiny_weights, tmp_path,
                                                                                 capsys):
    model_cache(offline, tiny_weights)
    out = tmp_path / "w"
    out.mkdir()
    (out / "rudolph.safetensors").write_bytes((tiny_weights / "rudolph.safetensors").read_bytes())
    assert fw.main(["--model", "2.7B-FBC2", "--out", str(out), "--cache-dir", str(offline)]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"fetch_weights: error: {out} also holds rudolph.safetensors, which run.py would read instead of the fetched "
        "files: remove it or choose another --out")

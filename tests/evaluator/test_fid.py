"""FID: the Fréchet distance against closed forms, and the FID InceptionV3 with random weights."""

import numpy as np
import pytest
import torch
from PIL import Image

import evaluator.metrics.fid as fid
from evaluator.errors import WeightsUnavailable
from evaluator.metrics.fid import (
    FIDInception,
    WeightsMismatch,
    build_inception,
    fid_from_features,
    fid_from_images,
    frechet_distance,
    load_inception,
)


def _spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def _sqrt_spd(s):
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


# ---------------------------------------------------------------------------------------------- distance


def test_frechet_distance_of_diagonal_gaussians_has_the_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-10)
    assert expected == pytest.approx(1 + 6.25 + 4 + 1)


def test_frechet_distance_of_general_gaussians_matches_the_symmetric_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    s1, s2 = _spd(rng, 5), _spd(rng, 5)
    r1 = _sqrt_spd(s1)
    # tr sqrt(S1 S2) = tr sqrt(S1^1/2 S2 S1^1/2), the latter symmetric positive definite.
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * _sqrt_spd(r1 @ s2 @ r1))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0, abs=1e-9)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(frechet_distance(mu2, s2, mu1, s1), rel=1e-9)


def test_frechet_distance_of_singular_covariances():
    # Both covariances singular, product zero: tr = 1 + 1 - 0.
    assert frechet_distance([0, 0], np.diag([1.0, 0.0]), [0, 0], np.diag([0.0, 1.0])) == pytest.approx(2.0)


def test_non_finite_square_root_retries_with_eps_on_the_diagonals(monkeypatch):
    calls = []
    real_sqrtm = fid.linalg.sqrtm

    def flaky_sqrtm(a):
        calls.append(a.copy())
        return np.full_like(a, np.inf) if len(calls) == 1 else real_sqrtm(a)

    monkeypatch.setattr(fid.linalg, "sqrtm", flaky_sqrtm)
    s1, s2 = np.diag([1.0, 4.0]), np.diag([4.0, 9.0])
    value = frechet_distance([0, 0], s1, [0, 0], s2, eps=1e-3)
    assert len(calls) == 2
    np.testing.assert_allclose(calls[1], (s1 + 1e-3 * np.eye(2)) @ (s2 + 1e-3 * np.eye(2)))
    expected = np.trace(s1 + s2) - 2 * np.sum(np.sqrt((np.diag(s1) + 1e-3) * (np.diag(s2) + 1e-3)))
    assert value == pytest.approx(expected, rel=1e-12)


def test_imaginary_parts_small_are_dropped_large_are_an_error(monkeypatch):
    s = np.diag([1.0, 4.0])
    monkeypatch.setattr(fid.linalg, "sqrtm", lambda a: np.diag([1.0, 4.0]) + 1e-6j)
    assert frechet_distance([0, 0], s, [0, 0], s) == pytest.approx(5 + 5 - 2 * 5)
    monkeypatch.setattr(fid.linalg, "sqrtm", lambda a: np.diag([1.0 + 0.5j, 4.0]))
    with pytest.raises(ValueError, match="imaginary component"):
        frechet_distance([0, 0], s, [0, 0], s)


def test_frechet_distance_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="mean vectors"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match="covariances"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(3))


def test_fid_from_features_zero_for_identical_sets_and_shift_squared_for_translated():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(60, 6))
    assert fid_from_features(a, a) == pytest.approx(0, abs=1e-8)
    shift = np.array([1.0, -2.0, 0.0, 0.5, 0.0, 3.0])
    # Same covariance, mean moved by `shift`: FID = |shift|^2.
    assert fid_from_features(a, a + shift) == pytest.approx(shift @ shift, rel=1e-8)
    b = rng.normal(size=(40, 6)) * 2
    expected = frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert fid_from_features(a, b) == pytest.approx(expected)
    with pytest.raises(ValueError, match="at least 2"):
        fid_from_features(a, a[:1])


# ---------------------------------------------------------------------------------------------- network


@pytest.fixture(scope="module")
def inception():
    return build_inception(seed=0)


def _images(n, size=(48, 40), seed=0):
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)) for _ in range(n)]


def test_key_layout_is_torchvision_inception3_with_1008_classes():
    with torch.device("meta"):
        model = FIDInception()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["Conv2d_1a_3x3.conv.weight"] == (32, 3, 3, 3)
    assert "Conv2d_1a_3x3.conv.bias" not in shapes
    assert shapes["Conv2d_1a_3x3.bn.running_var"] == (32,)
    assert shapes["Conv2d_4a_3x3.conv.weight"] == (192, 80, 3, 3)
    assert shapes["Mixed_5b.branch_pool.conv.weight"] == (32, 192, 1, 1)
    assert shapes["Mixed_5d.branch5x5_2.conv.weight"] == (64, 48, 5, 5)
    assert shapes["Mixed_6a.branch3x3.conv.weight"] == (384, 288, 3, 3)
    assert shapes["Mixed_6b.branch7x7_2.conv.weight"] == (128, 128, 1, 7)
    assert shapes["Mixed_6e.branch7x7dbl_5.conv.weight"] == (192, 192, 1, 7)
    assert shapes["Mixed_7a.branch7x7x3_4.conv.weight"] == (192, 192, 3, 3)
    assert shapes["Mixed_7b.branch3x3dbl_1.conv.weight"] == (448, 1280, 1, 1)
    assert shapes["Mixed_7c.branch3x3dbl_3b.conv.weight"] == (384, 384, 3, 1)
    assert shapes["Mixed_7c.branch_pool.conv.weight"] == (192, 2048, 1, 1)
    assert shapes["fc.weight"] == (1008, 2048) and shapes["fc.bias"] == (1008,)
    assert not any(k.startswith("AuxLogits") for k in shapes)
    assert model.Mixed_7b.pool == "avg" and model.Mixed_7c.pool == "max"


def test_features_shape_batch_independence_and_299_resize(inception):
    images = _images(1) + _images(1, size=(30, 64), seed=3)  # mixed sizes are fine
    features = inception.features(images, batch_size=2)
    assert features.shape == (2, 2048) and features.dtype == np.float64
    assert np.isfinite(features).all() and features.std() > 0
    assert (features >= 0).all()  # pool3 averages ReLU outputs
    assert not np.allclose(features[0], features[1])
    # The second image alone, as a [0, 1] tensor at its own size, through pool3's bilinear 299 resize.
    x = torch.from_numpy(np.asarray(images[1], dtype=np.float32) / 255).permute(2, 0, 1)[None]
    with torch.no_grad():
        alone = inception.pool3(x).double().numpy()
    np.testing.assert_allclose(alone[0], features[1], rtol=1e-4, atol=1e-5)


def test_input_is_mapped_from_unit_range_to_minus_one_one(inception):
    seen = []
    handle = inception.Conv2d_1a_3x3.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    x = torch.rand(1, 3, 75, 75)  # 75 x 75 is the smallest input the network takes without resizing
    try:
        with torch.no_grad():
            assert inception.pool3(x, resize=False).shape == (1, 2048)
    finally:
        handle.remove()
    torch.testing.assert_close(seen[0], 2 * x - 1)


def test_save_then_load_gives_identical_features(tmp_path, inception):
    # Saved without BatchNorm's num_batches_tracked counters, as files from older torch are.
    state = {k: v for k, v in inception.state_dict().items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(state, path)
    loaded = load_inception(str(path))
    x = torch.rand(2, 3, 80, 80)
    with torch.no_grad():
        torch.testing.assert_close(
            loaded.pool3(x, resize=False), inception.pool3(x, resize=False), rtol=0, atol=0
        )


def test_missing_file_and_incomplete_state_dict(tmp_path, inception):
    absent = tmp_path / "pt_inception.pth"
    with pytest.raises(WeightsUnavailable, match="FID Inception weights not found.*pt_inception.pth"):
        load_inception(str(absent))
    with pytest.raises(WeightsUnavailable, match="not found"):
        load_inception("")
    state = inception.state_dict()
    del state["Mixed_7c.branch_pool.conv.weight"], state["fc.bias"]
    state["AuxLogits.fc.weight"] = torch.zeros(1008, 768)
    torch.save(state, absent)
    with pytest.raises(WeightsMismatch) as info:
        load_inception(str(absent))
    assert "missing keys (2): Mixed_7c.branch_pool.conv.weight, fc.bias" in str(info.value)
    assert "unexpected keys (1): AuxLogits.fc.weight" in str(info.value)
    absent.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsMismatch, match="cannot read FID Inception weights"):
        load_inception(str(absent))


# ---------------------------------------------------------------------------------------------- images


class MeanColourModel:
    """Stands in for the Inception (whose 2048-d sqrtm takes ~20 s here): features = mean RGB."""

    def __init__(self):
        self.seen = []

    def features(self, images, batch_size=16):
        self.seen.extend((im.size, im.mode) for im in images)
        return np.array([np.asarray(im, dtype=np.float64).reshape(-1, 3).mean(0) for im in images])


def test_fid_from_images_resizes_both_sets_to_256_rgb():
    rng = np.random.default_rng(2)
    a = [Image.fromarray(rng.integers(0, 256, (20 + i, 30, 3), dtype=np.uint8)) for i in range(4)]
    b = [im.convert("L") for im in a]
    model = MeanColourModel()
    value = fid_from_images(a, b, model)
    assert model.seen == [((256, 256), "RGB")] * 8
    fa = model.features([im.resize((256, 256), Image.BILINEAR) for im in a])
    fb = model.features([im.convert("RGB").resize((256, 256), Image.BILINEAR) for im in b])
    assert value == pytest.approx(fid_from_features(fa, fb))
    assert value > 0
    assert fid_from_images(a, a, model) == pytest.approx(0, abs=1e-6)
    model.seen.clear()
    fid_from_images(a, a, model, size=None)
    assert [size for size, _ in model.seen] == [im.size for im in a] * 2

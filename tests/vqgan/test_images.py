import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from solution.images import RESAMPLE, center_square, load_image, prepare_image, to_pil, to_rgb

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def _rgb_at(t: torch.Tensor, y: int, x: int) -> tuple[int, ...]:
    return tuple(round(v * 255) for v in t[:, y, x].tolist())


def test_rgba_is_composited_on_white(tmp_path):
    img = Image.new("RGBA", (40, 20), (255, 0, 0, 0))  # transparent red
    draw = ImageDraw.Draw(img)
    draw.rectangle((20, 0, 39, 19), fill=(0, 0, 255, 255))  # opaque blue right half
    draw.rectangle((0, 0, 3, 3), fill=(255, 0, 0, 128))  # half-transparent red corner
    img.save(tmp_path / "a.png")

    rgb = load_image(tmp_path / "a.png")
    assert rgb.mode == "RGB" and rgb.size == (40, 20)
    assert rgb.getpixel((10, 10)) == WHITE  # not black, not red
    assert rgb.getpixel((30, 10)) == BLUE
    r, g, b = rgb.getpixel((1, 1))
    assert r == 255 and abs(g - 127) <= 1 and abs(b - 127) <= 1

    t = prepare_image(img, 16)  # the centre square spans x = 10..29: white left, blue right
    assert t.shape == (3, 16, 16) and t.dtype == torch.float32
    assert _rgb_at(t, 8, 1) == WHITE and _rgb_at(t, 8, 14) == BLUE


def test_palette_with_transparency_is_composited_on_white():
    img = Image.new("P", (8, 8), 0)
    img.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    img.info["transparency"] = 0  # index 0 (black) is transparent
    ImageDraw.Draw(img).rectangle((4, 0, 7, 7), fill=1)
    rgb = to_rgb(img)
    assert rgb.getpixel((0, 0)) == WHITE and rgb.getpixel((6, 0)) == GREEN


def test_greyscale_and_bilevel():
    t = prepare_image(Image.new("L", (10, 6), 100), 8)
    assert torch.allclose(t, torch.full((3, 8, 8), 100 / 255))
    bilevel = Image.new("1", (4, 4), 0)
    bilevel.putpixel((0, 0), 1)
    rgb = to_rgb(bilevel)
    assert rgb.getpixel((0, 0)) == WHITE and rgb.getpixel((3, 3)) == (0, 0, 0)


def test_cmyk(tmp_path):
    img = Image.new("CMYK", (12, 12), (0, 255, 255, 0))  # cyan 0, magenta and yellow full: red
    img.save(tmp_path / "c.tif")
    assert load_image(tmp_path / "c.tif").getpixel((5, 5)) == RED
    t = prepare_image(img, 8)
    assert _rgb_at(t, 0, 0) == RED and _rgb_at(t, 7, 7) == RED


def test_sixteen_bit_greyscale_is_scaled_not_clipped(tmp_path):
    img = Image.new("I;16", (4, 2), 0)
    img.putpixel((0, 0), 65535)
    img.putpixel((1, 0), 257 * 100)
    img.save(tmp_path / "g16.png")
    rgb = load_image(tmp_path / "g16.png")
    assert rgb.getpixel((0, 0)) == WHITE
    assert rgb.getpixel((1, 0)) == (100, 100, 100)  # PIL's own convert would clip this to 255
    assert rgb.getpixel((2, 0)) == (0, 0, 0)


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (20, 10), RED)
    ImageDraw.Draw(img).rectangle((10, 0, 19, 9), fill=BLUE)  # red left, blue right
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    img.save(tmp_path / "o.png", exif=exif)
    upright = load_image(tmp_path / "o.png")
    assert upright.size == (10, 20)
    assert upright.getpixel((5, 2)) == RED and upright.getpixel((5, 17)) == BLUE  # left side went to the top


def test_one_pixel_image():
    t = prepare_image(Image.new("RGB", (1, 1), (10, 20, 30)), 16)
    assert t.shape == (3, 16, 16)
    assert torch.equal(t, torch.tensor([10, 20, 30]).div(255).float()[:, None, None].expand(3, 16, 16))


@pytest.mark.parametrize("size", [(1000, 3), (3, 1000)])
def test_extreme_aspect_ratio_takes_the_centre(size):
    img = Image.new("RGB", size, RED)
    s = min(size)
    left, top = (size[0] - s) // 2, (size[1] - s) // 2  # 498 for 1000 x 3
    ImageDraw.Draw(img).rectangle((left, top, left + s - 1, top + s - 1), fill=GREEN)
    t = prepare_image(img, 24)
    assert t.shape == (3, 24, 24)
    assert torch.equal(t, torch.tensor([0.0, 1.0, 0.0])[:, None, None].expand(3, 24, 24))


def test_centre_square_offset_rounds_down_like_torchvision():
    # torchvision's fallback crop: j = (W - s) // 2, i = (H - s) // 2
    img = Image.new("L", (7, 4), 0)
    for x in range(7):
        img.putpixel((x, 0), x)
    square = center_square(img)
    assert square.size == (4, 4) and [square.getpixel((x, 0)) for x in range(4)] == [1, 2, 3, 4]


def test_default_resample_is_the_baselines_bilinear():
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (30, 50, 3), dtype=np.uint8))
    square = img.crop((10, 0, 40, 30))
    expected = {name: torch.from_numpy(np.asarray(square.resize((16, 16), RESAMPLE[name])).copy())
                .permute(2, 0, 1).float() / 255 for name in ("bilinear", "bicubic")}
    assert torch.equal(prepare_image(img, 16), expected["bilinear"])
    assert torch.equal(prepare_image(img, 16, resample="bicubic"), expected["bicubic"])
    assert not torch.equal(expected["bilinear"], expected["bicubic"])
    with pytest.raises(ValueError, match="unknown resample"):
        prepare_image(img, 16, resample="area")


def test_to_pil_round_trip_and_clamping():
    rng = np.random.default_rng(1)
    array = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
    img = Image.fromarray(array)
    back = to_pil(prepare_image(img, 12))  # no resize at the same size: exact
    assert back.mode == "RGB" and np.array_equal(np.asarray(back), array)

    t = torch.tensor([[[-0.5, 0.5]], [[1.5, 0.0]], [[0.2, 1.0]]])  # (3, 1, 2)
    assert np.asarray(to_pil(t)).tolist() == [[[0, 255, 51], [128, 0, 255]]]
    with pytest.raises(ValueError):
        to_pil(torch.zeros(1, 3, 4, 4))

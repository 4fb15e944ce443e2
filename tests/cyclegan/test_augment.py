"""DiffAugment ops and bCR (paper 003): shapes, exact pixels, gradients to G, shared transforms."""

from __future__ import annotations

import pytest
import torch

from cg2real.cyclegan.augment import OPS, DiffAugment, consistency_loss, parse_policy
from cg2real.errors import DataError

ALL_OPS = sorted(OPS)


def images(dtype: torch.dtype = torch.float32, n: int = 3, h: int = 12, w: int = 16) -> torch.Tensor:
    return torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(1), dtype=dtype) * 2 - 1


def augment(policy: str, seed: int = 0) -> DiffAugment:
    return DiffAugment(parse_policy(policy), torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("op", ALL_OPS)
def test_each_op_keeps_shape_and_dtype_and_changes_the_images(op, dtype):
    x = images(dtype)
    y = augment(op)(x)
    assert y.shape == x.shape and y.dtype == dtype and y.device == x.device
    assert torch.isfinite(y).all()
    assert not torch.equal(y, x)  # the op did something


@pytest.mark.parametrize("op", [*ALL_OPS, "color,translation,cutout"])
def test_gradient_reaches_the_generator_through_the_augmentation(op):
    torch.manual_seed(0)
    generator = torch.nn.Conv2d(3, 3, 3, padding=1)
    discriminator = torch.nn.Conv2d(3, 1, 4, stride=2)
    x = images()
    loss = discriminator(augment(op)(torch.tanh(generator(x)))).square().mean()
    loss.backward()
    assert generator.weight.grad is not None
    assert torch.isfinite(generator.weight.grad).all() and generator.weight.grad.abs().sum() > 0


def test_empty_policy_is_the_identity_and_draws_nothing():
    rng = torch.Generator().manual_seed(3)
    state = rng.get_state()
    x = images()
    none = DiffAugment(parse_policy(""), rng)
    assert none(x) is x
    assert none.pair(x, x + 1, shared=True)[1] is not x and torch.equal(none.pair(x, x, shared=True)[0], x)
    assert torch.equal(rng.get_state(), state)


def test_same_transform_for_real_and_fake_only_when_shared():
    x = images()
    policy = "color,translation,cutout,zoom_out"
    real, fake = augment(policy).pair(x, x.clone(), shared=True)
    assert torch.equal(real, fake)
    real, fake = augment(policy).pair(x, x.clone(), shared=False)
    assert not torch.equal(real, fake)
    with pytest.raises(ValueError, match="equal batches"):
        augment(policy).pair(x, x[:1], shared=True)


def test_draws_are_reproducible_from_the_seed():
    x = images()
    assert torch.equal(augment("translation,cutout", seed=5)(x), augment("translation,cutout", seed=5)(x))
    assert not torch.equal(augment("translation,cutout", seed=5)(x), augment("translation,cutout", seed=6)(x))


def test_translation_shifts_whole_pixels_and_fills_with_zero():
    x = torch.arange(1, 17, dtype=torch.float32).view(1, 1, 4, 4)
    right_down = OPS["translation"].apply(x, {"dx": torch.tensor([0.25]), "dy": torch.tensor([0.5])})
    expected = torch.zeros(4, 4)
    expected[2:, 1:] = x[0, 0, :2, :3]  # one column right, two rows down
    assert torch.equal(right_down[0, 0], expected)
    left = OPS["translation"].apply(x, {"dx": torch.tensor([-0.25]), "dy": torch.tensor([0.0])})
    assert torch.equal(left[0, 0, :, :3], x[0, 0, :, 1:]) and torch.equal(left[0, 0, :, 3], torch.zeros(4))


def test_translation_stays_within_its_strength():
    x = torch.ones(64, 1, 16, 16)
    shifted = augment("translation=0.125")(x)  # at most 2 of 16 pixels
    assert (shifted[:, :, 2:-2, 2:-2] == 1).all()
    assert (shifted == 0).any()


def test_cutout_zeros_a_square_of_the_given_side():
    x = torch.ones(2, 3, 4, 4)
    params = {"size": torch.tensor([0.5, 0.5]), "cy": torch.tensor([0.5, 0.0]), "cx": torch.tensor([0.5, 0.99])}
    out = OPS["cutout"].apply(x, params)
    centre = torch.ones(4, 4)
    centre[1:3, 1:3] = 0  # 2x2 square centred on pixel (2, 2)
    corner = torch.ones(4, 4)
    corner[0, 2:] = 0  # centred on (0, 3): overhangs the top and right edges
    assert torch.equal(out[0], centre.expand(3, 4, 4)) and torch.equal(out[1], corner.expand(3, 4, 4))


def test_colour_ops_with_known_parameters():
    x = torch.tensor([0.2, -0.4, 0.5]).view(1, 3, 1, 1).expand(1, 3, 2, 2).contiguous()
    assert torch.allclose(OPS["brightness"].apply(x, {"shift": torch.tensor([0.1])}), x + 0.1)
    grey = OPS["saturation"].apply(x, {"factor": torch.tensor([0.0])})
    assert torch.allclose(grey, torch.full_like(x, 0.1))  # channel mean of (0.2, -0.4, 0.5)
    flat = OPS["contrast"].apply(x, {"factor": torch.tensor([0.0])})
    assert torch.allclose(flat, torch.full_like(x, x.mean()))


@pytest.mark.parametrize("op", ["zoom_in", "zoom_out"])
def test_zoom_of_magnification_one_is_the_identity(op):
    x = images()
    params = {"magnification": torch.ones(3), "u": torch.tensor([0.3, -1.0, 1.0]), "v": torch.zeros(3)}
    torch.testing.assert_close(OPS[op].apply(x, params), x, rtol=0, atol=1e-5)


def test_zoom_out_shrinks_the_image_into_the_centre():
    x = torch.zeros(1, 1, 8, 8)
    x[..., 2:6, 2:6] = 1.0  # a centred bright square of half the side
    out = OPS["zoom_out"].apply(x, {"magnification": torch.tensor([2.0]), "u": torch.zeros(1), "v": torch.zeros(1)})
    assert out[0, 0, 3:5, 3:5].min() > 0.9  # the square, now a quarter of the side, still at the centre
    assert out[0, 0, 2, 2] < 0.6  # the dark ring around it, shrunk too
    assert out[0, 0, 0, 0] > 0.9  # outside the shrunk image: its mirror image (reflection), not zeros


def test_policy_parsing():
    assert parse_policy("") == ()
    assert parse_policy("color,translation,cutout") == (
        ("brightness", 1.0), ("saturation", 1.0), ("contrast", 1.0), ("translation", 0.125), ("cutout", 0.5))
    assert parse_policy(" zoom_out=0.4 , cutout=0.25") == (("zoom_out", 0.4), ("cutout", 0.25))
    with pytest.raises(DataError, match="unknown augmentation 'rotate'"):
        parse_policy("translation,rotate")
    with pytest.raises(DataError, match="strength of 'cutout' must be in \\[0, 1.0\\]"):
        parse_policy("cutout=2")
    with pytest.raises(DataError, match="not a number"):
        parse_policy("cutout=big")


def test_bcr_term_is_zero_for_the_identity_and_positive_otherwise():
    torch.manual_seed(0)
    discriminator = torch.nn.Conv2d(3, 1, 4, stride=2)
    x = images()
    scores = discriminator(x)
    assert consistency_loss(discriminator, x, scores, augment("")) == 0
    assert consistency_loss(discriminator, x, scores, augment("translation")) > 0

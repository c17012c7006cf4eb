"""The light-curve encoder (masked pooling, the "no light curve" input, stacked members), its NumPy
forward pass, and resampling with sequence inputs (a resampled row carries its parent's light
curve)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xnet.data.preprocessing import resample_training_set
from xnet.models.artifacts.encoders import NumpyLightCurveCNN
from xnet.models.encoders import LightCurveCNN


def curves(rows: int, length: int = 64, seed: int = 0) -> torch.Tensor:
    """(rows, 2, length) inputs: rate and mask, with gaps; row 0 has no light curve at all."""
    rng = np.random.default_rng(seed)
    mask = rng.random((rows, length)) > 0.3
    mask[0] = False
    rate = rng.normal(size=(rows, length)) * mask
    return torch.as_tensor(np.stack([rate, mask], 1), dtype=torch.float32)


def test_masked_bins_and_empty_light_curves_are_handled_explicitly():
    torch.manual_seed(0)
    encoder = LightCurveCNN(n_members=1, channels=6, kernel_size=3, layers=2, pool=1)
    with torch.no_grad():
        encoder.missing.copy_(torch.arange(12.0).view(1, 12))
    x = curves(5)[None]  # one member
    out = encoder(x)[0]
    assert out.shape == (5, 13)
    assert out[0, -1] == 0 and out[1:, -1].eq(1).all()  # the has-a-light-curve output
    torch.testing.assert_close(out[0, :12], torch.arange(12.0))  # the "no light curve" embedding
    # with pool=1 and kernel 3, a masked bin two away from every unmasked one cannot matter
    y = x.clone()
    lone = (y[0, 1:, 1] == 0) & (torch.nn.functional.max_pool1d(y[0, 1:, 1:2], 5, 1, 2)[:, 0] == 0)
    y[0, 1:, 0][lone] = 1e3
    torch.testing.assert_close(encoder(y)[0], out)


def test_stacked_members_compute_what_each_computes_alone():
    torch.manual_seed(1)
    stack = LightCurveCNN(n_members=3, channels=4, kernel_size=5, layers=2, pool=4)
    x = torch.stack([curves(7, seed=s) for s in range(3)])
    out = stack(x)
    for k in range(3):
        alone = LightCurveCNN(n_members=1, channels=4, kernel_size=5, layers=2, pool=4)
        alone.load_state_dict(stack.member_state(stack.state_dict(), k))
        torch.testing.assert_close(alone(x[k : k + 1])[0], out[k], rtol=1e-5, atol=1e-6)


def test_numpy_forward_pass_equals_torch():
    torch.manual_seed(2)
    encoder = LightCurveCNN(n_members=1, channels=8, kernel_size=5, layers=3, pool=2)
    with torch.no_grad():
        encoder.missing.normal_()
    x = curves(40, length=50)  # 50 bins: the pools drop a remainder, as torch's do
    arrays = {f"net.encoders.lc.{k}": v.numpy() for k, v in encoder.state_dict().items()}
    numpy_encoder = NumpyLightCurveCNN.from_arrays(arrays, "net.encoders.lc.", {"pool": 2})
    expected = encoder(x[None])[0].detach().numpy()
    np.testing.assert_allclose(numpy_encoder(x.numpy()), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", ["smote", "smote_under"])
def test_resampled_rows_carry_their_parents(method):
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [60, 12, 8])
    x = (rng.normal(size=(80, 3)) + y[:, None] * 2).astype(np.float32)
    parents = np.arange(1000, 1080)  # labelled-set rows of x
    cfg = {"name": method, "k_neighbors": 3, "targets": {"default": 30}}
    x_out, y_out, carried = resample_training_set(
        x, y, ["a", "b", "c"], cfg, seed=1, parents=parents
    )
    source = carried - 1000
    assert np.array_equal(y[source], y_out)  # every row's parent is of its class
    kept = np.all(x_out == x[source], axis=1)
    assert kept.sum() >= (80 if method == "smote" else 50)
    synthetic = ~kept
    assert synthetic.sum() == (30 - 12) + (30 - 8)
    for row in np.flatnonzero(synthetic):  # a SMOTE row takes the nearest real row of its class
        same = np.flatnonzero(y == y_out[row])
        nearest = same[np.argmin(np.linalg.norm(x[same] - x_out[row], axis=1))]
        assert source[row] == nearest
    plain_x, plain_y = resample_training_set(x, y, ["a", "b", "c"], cfg, seed=1)
    np.testing.assert_array_equal(plain_x, x_out)  # parents change nothing else
    np.testing.assert_array_equal(plain_y, y_out)

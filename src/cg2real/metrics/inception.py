"""The standard FID Inception network (pytorch-fid's 2048-d pool features) from a local weights file.

The same file also gives the network's 1008-way classifier head (`load_inception_classifier`), whose
class probabilities the Inception Score needs; FID and IS thus share one weights file and one rule.

pytorch-fid fetches its weights by URL (torch.hub, into `<hub dir>/checkpoints/`). Machines here have
no network, so the weights file is a configured path: while the network is built, pytorch-fid's URL
loader is answered from that file, and nothing is ever downloaded. A missing file is a DataError that
names the file to place, where, and where to get it.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from pytorch_fid import inception as pytorch_fid_inception
from torch.nn import functional as F
from tqdm import tqdm

from cg2real.errors import DataError
from cg2real.metrics.fid import feature_statistics, frechet_distance

log = logging.getLogger(__name__)

WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = pytorch_fid_inception.FID_WEIGHTS_URL
WEIGHTS_SHA256_PREFIX = "6726825d"  # torch.hub's convention: the file name carries its hash's first digits
FEATURE_DIM = 2048


@dataclass(frozen=True)
class MetricsSettings:
    """Settings of the Inception metrics, FID and IS (config section metrics)."""

    device: str  # auto, cpu or cuda
    weights: str | None  # None: pytorch-fid's own place
    batch_size: int
    require_weights: bool  # a missing weights file is an error, else the metric is "not computed"
    is_splits: int

    @property
    def weights_path(self) -> Path:
        return Path(self.weights) if self.weights else default_weights_path()


def default_weights_path() -> Path:
    """Where pytorch-fid itself looks: `$TORCH_HOME/hub/checkpoints/<file>` (torch.hub's dir)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def missing_weights_message(weights: Path, metric: str = "FID") -> str:
    return (
        f"{metric} needs the pytorch-fid Inception weights, not found at {weights}: place the file {WEIGHTS_FILE} "
        f"at exactly that path (it is the pytorch-fid release asset {WEIGHTS_URL}; download it on a machine "
        "with network access; nothing is downloaded at run time)"
    )


def _warn_unless_standard(weights: Path) -> None:
    """Other weights still give a distance, but not one comparable with published FIDs (paper 000: ~221)."""
    digest = hashlib.sha256()
    with weights.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    if not digest.hexdigest().startswith(WEIGHTS_SHA256_PREFIX):
        log.warning("%s is not the standard %s (sha256 %s...); FIDs are not comparable with published ones",
                    weights, WEIGHTS_FILE, digest.hexdigest()[:8])


@contextmanager
def _url_loader_reading(weights: Path) -> Iterator[None]:
    """For the duration, pytorch-fid's `load_state_dict_from_url` reads `weights` instead of the URL."""

    def load(url: str, **_: object) -> dict[str, torch.Tensor]:
        if url != WEIGHTS_URL:
            raise DataError(f"pytorch-fid asked for unexpected weights {url}; only {WEIGHTS_URL} is provided")
        try:
            return torch.load(weights, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
            raise DataError(f"{weights} is not a torch weights file ({WEIGHTS_FILE} expected): {err}") from err

    original = pytorch_fid_inception.load_state_dict_from_url
    pytorch_fid_inception.load_state_dict_from_url = load
    try:
        yield
    finally:
        pytorch_fid_inception.load_state_dict_from_url = original


def _build_from_file(weights: Path, build: Callable[[], torch.nn.Module], metric: str) -> torch.nn.Module:
    """`build()` a pytorch-fid network whose weights come from `weights`, with clear errors."""
    if not weights.is_file():
        raise DataError(missing_weights_message(weights, metric))
    _warn_unless_standard(weights)
    with _url_loader_reading(weights):
        try:
            return build()
        except RuntimeError as err:  # load_state_dict: missing, unexpected or mis-shaped tensors
            first = str(err).splitlines()[1] if "\n" in str(err) else str(err)
            raise DataError(f"{weights} does not fit the FID Inception network ({WEIGHTS_FILE} expected): "
                            f"{first.strip()}") from err


def load_fid_inception(weights: Path, device: torch.device) -> torch.nn.Module:
    """pytorch-fid's InceptionV3 (pool3, 2048-d; input resized to 299, [0, 1] -> [-1, 1]) in eval mode."""
    model = _build_from_file(weights, lambda: pytorch_fid_inception.InceptionV3(
        [pytorch_fid_inception.InceptionV3.BLOCK_INDEX_BY_DIM[FEATURE_DIM]],
        resize_input=True, normalize_input=True, use_fid_inception=True,
    ), "FID")
    return model.to(device).eval()


class InceptionClassifier(torch.nn.Module):
    """The FID Inception network up to its `fc` layer: [0, 1] NCHW images -> 1008 class logits, with
    the input handling of pytorch-fid's InceptionV3 (bilinear resize to 299, [0, 1] -> [-1, 1])."""

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        resized = F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)
        return self.network(2 * resized - 1)


def load_inception_classifier(weights: Path, device: torch.device) -> torch.nn.Module:
    """The 1008-way classifier of the same weights file (for the Inception Score), in eval mode."""
    model = _build_from_file(weights, pytorch_fid_inception.fid_inception_v3, "the Inception Score")
    return InceptionClassifier(model).to(device).eval()


def same_size_batches(images: Iterable[np.ndarray], batch_size: int) -> Iterator[list[np.ndarray]]:
    """Batches of up to `batch_size` images, cut where the image size changes (tensors must stack)."""
    batch: list[np.ndarray] = []
    for image in images:
        if batch and (len(batch) == batch_size or batch[0].shape != image.shape):
            yield batch
            batch = []
        batch.append(image)
    if batch:
        yield batch


@torch.no_grad()
def inception_features(
    model: torch.nn.Module, images: Iterable[np.ndarray], batch_size: int, device: torch.device,
    description: str = "inception", total: int | None = None,
) -> np.ndarray:
    """(N, 2048) float64 pool features of RGB uint8 HxWx3 images, read lazily (any iterable; `total`
    only sizes the progress bar).

    Images go in as [0, 1] floats, as pytorch-fid feeds them; the network itself resizes to 299.
    """
    features = []
    with tqdm(desc=description, total=total, unit="img", mininterval=5) as bar:
        for batch in same_size_batches(images, batch_size):
            tensor = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).to(device).float().div(255)
            pooled = model(tensor)[0]
            features.append(pooled.reshape(len(batch), -1).double().cpu().numpy())
            bar.update(len(batch))
    if not features:
        raise DataError("no images to compute Inception features of")
    return np.concatenate(features)


def fid_of_image_sets(
    model: torch.nn.Module, first: Iterable[np.ndarray], second: Iterable[np.ndarray], batch_size: int,
    device: torch.device,
) -> float:
    """FID between two image sets (each needs at least 2 images for a covariance)."""
    first_statistics, second_statistics = (
        feature_statistics(inception_features(model, images, batch_size, device)) for images in (first, second)
    )
    return frechet_distance(*first_statistics, *second_statistics)

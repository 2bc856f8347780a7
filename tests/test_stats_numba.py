"""The compiled sigma-clipped kernel (pipetask-stats-numba): bit-identical to the numpy
code on obs_test and synthetic images, used when installed, compiled once per cache."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from _shared_data import allFiles, obsTestData
from pipetask_image import MaskedImage
from pipetask_stats import SigmaClippedStatsTask, clipping
from pipetask_stats.scan import scanChunk as numpyScanChunk

pytest.importorskip("numba")
from pipetask_stats_numba.scan import scanChunk as compiledScanChunk  # noqa: E402


def bothKernels(pixels, mask, badBits, numSigmaClip=3.0, numIter=2, method="auto"):
    results = [
        clipping.sigmaClippedMoments(
            pixels, mask, badBits, numSigmaClip, numIter, method=method, kernel=kernel
        )
        for kernel in ("numpy", "compiled")
    ]
    assert [r.kernel for r in results] in (
        ["numpy", "pipetask-stats-numba"],
        ["numpy", "numpy"],  # the direct path (small image) runs no kernel
    )
    return results


def assertIdentical(a: clipping.ClipResult, b: clipping.ClipResult) -> None:
    """Every iteration's count, mean and variance equal to the last bit, and the path."""
    assert a.path == b.path
    assert a.numCandidates == b.numCandidates
    assert a.quartiles == b.quartiles
    assert a.iterations == b.iterations  # dataclass equality: exact floats


def test_installed_kernel_is_found():
    kernel, distribution = clipping.chooseKernel("auto")
    assert distribution == "pipetask-stats-numba"
    assert kernel.scanChunk is compiledScanChunk


@pytest.mark.parametrize("path", allFiles(), ids=lambda p: p.name)
def test_bit_identical_on_obs_test(path):
    obsTestData()
    mi = MaskedImage.readFits(path)
    for planes in (["EDGE"], ["EDGE", "SAT", "BAD"]):
        bits = mi.getPlaneBitMask(planes)
        for numSigmaClip, numIter in ((3.0, 2), (1.5, 4)):
            numpy, compiled = bothKernels(mi.image, mi.maskOrNone, bits, numSigmaClip, numIter)
            assert numpy.path == "scan"
            assertIdentical(numpy, compiled)


def syntheticImage(shape, seed, maskFraction=0.01, nanCount=50, dtype=np.float32):
    rng = np.random.default_rng(seed)
    image = rng.normal(1000.0, 10.0, shape).astype(dtype)
    bright = rng.choice(image.size, image.size // 100, replace=False)
    image.flat[bright] += rng.exponential(300.0, bright.size).astype(dtype)
    image.flat[rng.choice(image.size, nanCount, replace=False)] = np.nan
    image.flat[rng.choice(image.size, 5, replace=False)] = np.inf
    mask = np.zeros(shape, np.int32)
    masked = rng.choice(image.size, int(image.size * maskFraction), replace=False)
    mask.flat[masked] = rng.choice([1 << 4, 1 << 0, 1 << 5], masked.size)
    return image, mask


# Sizes: whole 2**18-pixel chunks (the blocked loop), a remainder chunk, a small image
# forced onto the streaming path, integers (obs_test-like ties) and a large offset.
@pytest.mark.parametrize(
    "shape",
    [(1024, 512), (1000, 777), (600, 500), (4096, 256)],
    ids=lambda s: "x".join(map(str, s)),
)
def test_bit_identical_on_synthetic_images(shape):
    for seed in range(3):
        image, mask = syntheticImage(shape, seed)
        for m, bits in ((mask, 1 << 4), (mask, (1 << 4) | 1), (None, 0)):
            assertIdentical(*bothKernels(image, m, bits, method="scan"))
        integers = np.round(image / 7.0) * 7.0 + np.float32(30000.0)
        assertIdentical(*bothKernels(integers, mask, 1 << 4, method="scan"))


def test_the_chunk_kernels_agree_on_every_output():
    rng = np.random.default_rng(5)
    for size in (1 << 18, 1 << 15, 123457, 216992, 1000, 129, 7):
        chunk = rng.normal(50.0, 3.0, size).astype(np.float32)
        chunk[:: max(1, size // 10)] = np.nan
        mask = rng.integers(0, 4, size).astype(np.int16)
        lows = np.array([47.5, 49.9, 52.0], np.float32)
        highs = np.array([48.0, 50.1, 52.4], np.float32)
        for m in (mask, None):
            outputs = []
            for kernel in (numpyScanChunk, compiledScanChunk):
                special, masked = np.zeros(size, np.float32), np.zeros(size, bool)
                counts = np.zeros(3, np.int64)
                args = (np.float32(41.0), np.float32(59.0), lows, highs, np.float32(50.0))
                result = kernel(chunk, m, 2, *args, special, masked, counts)
                n = result[0]
                outputs.append((result, special[:n].tobytes(), counts.tolist(), masked[:n]))
            (r1, sp1, c1, m1), (r2, sp2, c2, m2) = outputs
            assert r1 == r2 and sp1 == sp2 and c1 == c2
            if m is not None:
                assert np.array_equal(m1, m2)


def test_task_results_identical_with_either_kernel(monkeypatch):
    image, mask = syntheticImage((1024, 600), 9)
    mi = MaskedImage(image, mask)
    compiled = SigmaClippedStatsTask().run(mi)
    monkeypatch.setattr(clipping, "compiledKernel", lambda: None)
    fallback = SigmaClippedStatsTask().run(mi)
    assert compiled.getDict() == fallback.getDict()


KERNEL_SCRIPT = """
import numpy as np
from pipetask_stats import clipping
image = np.random.default_rng(1).normal(5.0, 1.0, (512, 512)).astype(np.float32)
result = clipping.sigmaClippedMoments(image, method="scan", kernel="compiled")
print(result.kernel, repr(result.moments.mean))
"""


def runKernel(cacheDir) -> subprocess.CompletedProcess:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cacheDir), NUMBA_DEBUG_CACHE="1")
    return subprocess.run(
        [sys.executable, "-c", KERNEL_SCRIPT], env=env, capture_output=True, text=True, timeout=600
    )


def test_compiled_once_then_loaded_from_the_cache(tmp_path):
    first = runKernel(tmp_path / "cache")
    assert first.returncode == 0, first.stderr
    assert "data saved" in first.stdout and "pipetask_stats_numba" in first.stdout
    second = runKernel(tmp_path / "cache")
    assert second.returncode == 0, second.stderr
    assert "data loaded" in second.stdout and "data saved" not in second.stdout
    assert first.stdout.splitlines()[-1] == second.stdout.splitlines()[-1]
    assert second.stdout.splitlines()[-1].startswith("pipetask-stats-numba ")


def test_no_writable_cache_location_still_computes_the_same(tmp_path):
    # A read-only installation with no writable per-user cache either. The test runs as
    # whatever user CI uses (root ignores permissions), so numba's check that a cache
    # location is writable is made to fail for every location.
    script = (
        "from numba.core import caching\n"
        "def refuse(self): raise OSError('read-only')\n"
        "caching._CacheLocator.ensure_cache_path = refuse\n"
        "import pipetask_stats_numba.scan as scan\n"
        "print('cached', scan.CACHED)\n" + KERNEL_SCRIPT
    )
    env = dict(os.environ, NUMBA_DEBUG_CACHE="1", NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert "cached False" in done.stdout
    assert "data saved" not in done.stdout and "data loaded" not in done.stdout
    reference = runKernel(tmp_path / "cache")
    assert done.stdout.splitlines()[-1] == reference.stdout.splitlines()[-1]


def test_the_sort_and_bracket_kernels_agree():
    """The compiled sort of the sample and selection of the brackets give numpy's values,
    on negative and positive values, ties, zeros of both signs and infinities; brackets
    that overlap get every value they hold."""
    import pipetask_stats.scan as numpyKernel
    import pipetask_stats_numba.scan as compiledKernel

    rng = np.random.default_rng(11)
    for size in (0, 1, 7, 1000, 200_003):
        values = np.round(rng.normal(0.0, 50.0, size)).astype(np.float32)
        values[:: max(1, size // 7)] = -0.0
        if size > 10:
            values[3], values[5] = np.inf, -np.inf
        expected = numpyKernel.sortSample(values)
        got = compiledKernel.sortSample(values)
        assert got.dtype == np.float32 and np.array_equal(got, expected)
        lows = np.array([-20.0, -5.0, 0.0], np.float32)  # the last two overlap
        highs = np.array([-10.0, 5.0, 30.0], np.float32)
        for a, b in zip(
            numpyKernel.bracketContents(values, lows, highs),
            compiledKernel.bracketContents(values, lows, highs),
            strict=True,
        ):
            assert a.tobytes() == b.tobytes()

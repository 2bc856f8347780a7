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
from pipetask_stats.scan import scanImage as numpyScanImage

pytest.importorskip("numba")
from pipetask_stats_numba import native  # noqa: E402
from pipetask_stats_numba.scan import scanImage as compiledScanImage  # noqa: E402


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
    assert kernel.scanImage is compiledScanImage


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


def test_the_scan_kernels_agree_on_every_output(monkeypatch):
    """numpy, the ahead-of-time loops and the just-in-time ones give the same counts,
    special pixels and sums, on whole chunks, a remainder chunk and small images, with
    NaNs, infinities, masked pixels and brackets that overlap the core's ends."""
    from pipetask_stats import scan as numpyKernel
    from pipetask_stats_numba import scan as compiledKernel

    jit = native.jitLoops()
    monkeypatch.setattr(numpyKernel, "SCAN_CHUNK", 1 << 15)  # several chunks, quickly
    rng = np.random.default_rng(5)
    for size in (1 << 16, 123457, 1000, 129, 7):
        pixels = rng.normal(50.0, 3.0, size).astype(np.float32)
        pixels[:: max(1, size // 10)] = np.nan
        pixels[1 :: max(1, size // 9)] = -np.inf
        mask = rng.integers(0, 4, size).astype(np.int32)
        mask[3::11] |= np.int32(-(2**31))  # the sign bit: masks nothing for bit 1
        lows = np.array([47.5, 49.9, 52.0], np.float32)
        highs = np.array([48.0, 50.1, 52.4], np.float32)
        args = (np.float32(41.0), np.float32(59.0), lows, highs, np.float32(50.0))
        for m in (mask, None):
            expected = numpyScanImage(pixels, m, 2, *args)
            for loops in (compiledKernel.loaded()[0], jit):
                monkeypatch.setattr(compiledKernel, "loaded", lambda loops=loops: (loops, ""))
                got = compiledScanImage(pixels, m, 2, *args)
                assert got[:3] == expected[:3] and got[4] == expected[4]
                assert got[3].tobytes() == expected[3].tobytes()
                window = (np.float32(45.0), np.float32(55.5), 50.0)
                assert compiledKernel.windowSums(got[3], *window) == numpyKernel.windowSums(
                    expected[3], *window
                )


def test_task_results_identical_with_either_kernel(monkeypatch):
    image, mask = syntheticImage((1024, 600), 9)
    mi = MaskedImage(image, mask)
    compiled = SigmaClippedStatsTask().run(mi)
    monkeypatch.setattr(clipping, "compiledKernel", lambda: None)
    fallback = SigmaClippedStatsTask().run(mi)
    assert compiled.getDict() == fallback.getDict()


KERNEL_SCRIPT = """
import sys
import numpy as np
from pipetask_stats import clipping
from pipetask_stats_numba import scan
image = np.random.default_rng(1).normal(5.0, 1.0, (512, 512)).astype(np.float32)
result = clipping.sigmaClippedMoments(image, method="scan", kernel="compiled")
print(scan.loaded()[1], "numba imported:", "numba" in sys.modules)
print(result.kernel, repr(result.moments.mean))
"""


def numpyMean() -> str:
    """The mean KERNEL_SCRIPT prints, from the numpy kernel."""
    image = np.random.default_rng(1).normal(5.0, 1.0, (512, 512)).astype(np.float32)
    result = clipping.sigmaClippedMoments(image, method="scan", kernel="numpy")
    return repr(result.moments.mean)


def runKernel(cacheDir, prelude: str = "", **environ: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cacheDir), **environ)
    return subprocess.run(
        [sys.executable, "-c", prelude + KERNEL_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_compiled_once_then_loaded_without_numba(tmp_path):
    first = runKernel(tmp_path / "cache")
    assert first.returncode == 0, first.stderr
    # Built in a child process: numba and the compiler's output stay out of this one.
    assert first.stdout.splitlines()[0] == "ahead-of-time, built numba imported: False"
    assert len(first.stdout.splitlines()) == 2 and "gcc" not in first.stderr
    built = [p for p in (tmp_path / "cache" / "pipetask").iterdir() if p.suffix != ".lock"]
    assert len(built) == 1 and built[0].name.startswith(native.MODULE + "-")
    second = runKernel(tmp_path / "cache")
    assert second.returncode == 0, second.stderr
    # The second process (every later run and worker) loads the module, not numba.
    assert second.stdout.splitlines()[0] == "ahead-of-time, loaded numba imported: False"
    assert first.stdout.splitlines()[-1] == second.stdout.splitlines()[-1]
    assert second.stdout.splitlines()[-1].startswith("pipetask-stats-numba ")
    assert second.stdout.splitlines()[-1].split()[-1] == numpyMean()


def test_a_kernel_for_another_cpu_is_built_apart_with_the_same_bits(tmp_path):
    """NUMBA_CPU_NAME=generic (e.g. to run under valgrind, which knows no AVX-512) builds
    a module of its own beside this CPU's, and it computes the same bits."""
    folder = tmp_path / "cache" / "pipetask"
    generic = runKernel(tmp_path / "cache", NUMBA_CPU_NAME="generic")
    assert generic.returncode == 0, generic.stderr
    assert generic.stdout.splitlines()[0] == "ahead-of-time, built numba imported: False"
    host = runKernel(tmp_path / "cache")
    assert host.returncode == 0, host.stderr
    assert host.stdout.splitlines()[0] == "ahead-of-time, built numba imported: False"
    assert len(list(folder.glob("*.so"))) == 2
    again = runKernel(tmp_path / "cache", NUMBA_CPU_NAME="generic")
    assert again.stdout.splitlines()[0] == "ahead-of-time, loaded numba imported: False"
    assert generic.stdout.splitlines()[-1] == host.stdout.splitlines()[-1]
    assert host.stdout.splitlines()[-1].split()[-1] == numpyMean()


def test_a_process_finding_the_kernel_being_built_uses_numpy_meanwhile(tmp_path):
    """While one process builds the module (it holds the build lock), another neither
    waits nor builds it again: it computes the same bits with the numpy kernel."""
    import fcntl

    folder = tmp_path / "cache" / "pipetask"
    folder.mkdir(parents=True)
    with open(folder / f"{native.MODULE}-{native.cacheKey()}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        meanwhile = runKernel(tmp_path / "cache")
    assert meanwhile.returncode == 0, meanwhile.stderr
    first = meanwhile.stdout.splitlines()[0]
    assert first == "being built by another process: numpy meanwhile numba imported: False"
    assert meanwhile.stdout.splitlines()[-1].split()[-1] == numpyMean()
    assert not list(folder.glob("*.so"))


def test_no_writable_cache_location_still_computes_the_same(tmp_path):
    # A read-only installation with no writable per-user cache either. The test runs as
    # whatever user CI uses (root ignores permissions), so the checks that a cache
    # location is writable are made to fail for every location, numba's included.
    prelude = (
        "from numba.core import caching\n"
        "def refuse(self): raise OSError('read-only')\n"
        "caching._CacheLocator.ensure_cache_path = refuse\n"
        "from pipetask_stats_numba import native\n"
        "native._writable = lambda folder: False\n"
    )
    done = runKernel(tmp_path / "cache", prelude)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "just-in-time numba imported: True"
    assert not (tmp_path / "cache").exists()
    assert done.stdout.splitlines()[-1].split()[-1] == numpyMean()


def test_a_failed_build_falls_back_and_is_not_retried(tmp_path):
    """Without a C compiler the ahead-of-time build fails: one warning, the same results
    from the just-in-time loops, and later processes do not try again."""
    prelude = (
        "from pipetask_stats_numba import native\n"
        "def fail(folder, key): raise OSError('no C compiler found')\n"
        "native.build = fail\n"
    )
    first = runKernel(tmp_path / "cache", prelude)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == "just-in-time numba imported: True"
    assert "ahead-of-time build failed (no C compiler found)" in first.stderr
    [failed] = (tmp_path / "cache" / "pipetask").glob("*.failed")
    assert "no C compiler found" in failed.read_text()
    second = runKernel(tmp_path / "cache")  # could build, but the failure is remembered
    assert second.stdout.splitlines()[0] == "just-in-time numba imported: True"
    assert "build failed" not in second.stderr
    assert first.stdout.splitlines()[-1] == second.stdout.splitlines()[-1]


def test_a_cpu_llvm_does_not_know_fails_the_build_cleanly(tmp_path):
    """NUMBA_CPU_NAME naming no CPU: LLVM aborts the build's child process; the warning
    names the setting, the just-in-time loops give the same bits, and no build folder is
    left behind."""
    done = runKernel(tmp_path / "cache", NUMBA_CPU_NAME="no-such-cpu")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "just-in-time numba imported: True"
    assert "(compiling for NUMBA_CPU_NAME='no-such-cpu')" in done.stderr
    assert done.stdout.splitlines()[-1].split()[-1] == numpyMean()
    folder = tmp_path / "cache" / "pipetask"
    assert sorted(p.suffix for p in folder.iterdir()) == [".failed", ".lock"]


def test_the_sample_kernels_agree():
    """The compiled sample holds numpy's values in numpy's order: NaN, infinite and masked
    pixels left out, any offset and step, with and without a mask."""
    import pipetask_stats.scan as numpyKernel
    import pipetask_stats_numba.scan as compiledKernel

    rng = np.random.default_rng(12)
    pixels = rng.normal(0.0, 5.0, 100_003).astype(np.float32)
    pixels[::13], pixels[1::17], pixels[2::19] = np.nan, np.inf, -np.inf
    mask = rng.integers(0, 8, pixels.size).astype(np.int32)
    for offset, step in ((0, 1), (3, 7), (50, 127), (100_002, 5), (100_003, 3)):
        for m, bits in ((mask, 4), (mask, 0), (None, 4)):
            expected = numpyKernel.sampleCandidates(pixels, m, bits, offset, step)
            got = compiledKernel.sampleCandidates(pixels, m, bits, offset, step)
            assert got.dtype == np.float32 and got.tobytes() == expected.tobytes()


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


def test_either_sort_of_the_sample_gives_the_same_values(monkeypatch):
    """The first large sample of a process is sorted both ways and the faster sort is
    kept; numpy's sort and the radix sort give the same values, ties, zeros of both signs
    and infinities included, whichever is kept."""
    import pipetask_stats_numba.scan as compiledKernel

    radix = compiledKernel.loaded()[0].radixSort
    rng = np.random.default_rng(12)
    values = np.round(rng.normal(0.0, 50.0, compiledKernel.SORT_TIMING_SIZE)).astype(np.float32)
    values[::97] = -0.0
    values[3], values[5] = np.inf, -np.inf
    expected = np.sort(values)
    monkeypatch.setattr(compiledKernel, "_fasterSort", None)
    assert np.array_equal(compiledKernel.sortSample(values), expected)
    assert compiledKernel._fasterSort in (np.sort, radix)  # timed on that sample
    for chosen in (np.sort, radix):
        monkeypatch.setattr(compiledKernel, "_fasterSort", chosen)
        got = compiledKernel.sortSample(values)
        assert got.dtype == np.float32 and np.array_equal(got, expected)


def test_a_mask_that_masks_nothing_gives_the_results_of_no_mask():
    """A mask with none of the bad bits set (obs_test's is all zero) is not read by the
    scan, and changes no bit; one masked pixel anywhere, the last included, is seen."""
    import pipetask_stats.scan as numpyKernel
    import pipetask_stats_numba.scan as compiledKernel

    image, _ = syntheticImage((1024, 520), 4, nanCount=10)
    clear = np.zeros(image.shape, np.int32)
    clear[::7, ::3] = 1 << 2  # other planes only
    clear[5, 5] = -(2**31)
    unmasked = bothKernels(image, None, 0, method="scan")
    for kernelResult, reference in zip(
        bothKernels(image, clear, 1 << 4, method="scan"), unmasked, strict=True
    ):
        assert kernelResult.iterations == reference.iterations
        assert kernelResult.quartiles == reference.quartiles
    last = clear.copy()
    last[-1, -1] = 1 << 4
    finite = int(np.isfinite(image).sum())
    for result in bothKernels(image, last, 1 << 4, method="scan"):
        assert result.numCandidates == finite - 1
    for mask in (clear.reshape(-1), last.reshape(-1), last.reshape(-1)[:4097]):
        for bits in (1 << 4, 1 << 2, 1 << 30, 0):
            expected = numpyKernel.anyMasked(mask, bits)
            assert compiledKernel.anyMasked(mask, bits) is expected


@pytest.mark.parametrize("offset", [100.0, -1.0])
def test_quartiles_on_runs_of_equal_values(offset):
    """Integer images whose quartiles fall inside a run of equal values, on the last value
    of a run (the next rank in the next run) or on zero: the same quartiles and moments
    on the streaming path, with either kernel, as on the direct path (the sums of integers
    are exact, so every path gives the same bits)."""
    rng = np.random.default_rng(21)
    n = 600 * 500 + 3  # (n - 1) / 4 is not whole: a quartile interpolates two ranks
    q = (n - 1) // 4
    for firstRun in (q + 1, q, q + 2, n // 3):
        values = np.concatenate([np.zeros(firstRun), 1 + rng.integers(0, 3, n - firstRun)]).astype(
            np.float32
        )
        image = rng.permutation(values + np.float32(offset)).reshape(1, n)
        numpy, compiled = bothKernels(image, None, 0, method="scan")
        assertIdentical(numpy, compiled)
        direct = clipping.sigmaClippedMoments(image, None, 0, method="direct")
        assert numpy.path == "scan" and direct.path == "direct"
        assert numpy.quartiles == direct.quartiles
        assert numpy.iterations == direct.iterations


def test_tiny_and_fully_clipped_images_agree():
    """Fewer pixels than a run of 8, runs that end in a partial group, and a clip that
    keeps nothing: both kernels give the same bits."""
    rng = np.random.default_rng(8)
    for size in (1, 3, 7, 8, 9, 15, 17, 127, 129, 1031):
        image = rng.normal(10.0, 1.0, size).astype(np.float32)
        image[size // 2] = np.nan
        assertIdentical(*bothKernels(image, None, 0, method="scan"))
    image, mask = syntheticImage((1024, 256), 6)
    assertIdentical(*bothKernels(image, mask, 1 << 4, numSigmaClip=1e-6, numIter=3))

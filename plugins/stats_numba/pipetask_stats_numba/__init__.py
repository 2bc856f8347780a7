"""pipetask-stats-numba: a compiled kernel for the sigma-clipped statistics.

Installing it is enough: ``SigmaClippedStatsTask`` of pipetask-stats finds the kernel
through the plugin hook ``pipetask_kernels`` and uses it instead of its numpy code, with
bit-identical results. See :mod:`pipetask_stats_numba.scan` (the kernel),
:mod:`pipetask_stats_numba.loops` (its compiled loops) and
:mod:`pipetask_stats_numba.native` (compiled once per installation, loaded without numba).
"""

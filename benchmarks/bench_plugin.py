"""The benchmarks' throwaway plugin: describes :mod:`bench_tasks` (imports nothing heavy)."""

from pipetask.plugins import Description, hookimpl


@hookimpl
def pipetask_tasks():
    return [
        Description("trivial", "bench_tasks:TrivialTask", "returns at once", kind="cmdline"),
        Description("burn", "bench_tasks:BurnTask", "burns CPU", kind="cmdline"),
        Description("clipStats", "bench_tasks:ClipStatsTask", "numpy-heavy", kind="cmdline"),
        Description("benchStep", "bench_tasks:StepTask", "one-to-one pipeline step"),
        Description("benchGather", "bench_tasks:GatherTask", "per-visit gather"),
        Description("benchNoop", "bench_tasks:NoopTask", "pipeline task that does nothing"),
    ]

"""Entry point of pipetask-isr: describes its tasks and the defects format (light)."""

from pipetask.plugins import Description, hookimpl


@hookimpl
def pipetask_tasks():
    """isrTask, makeBias and makeFlat (command line) and the ISR subtasks."""
    return [
        Description(
            "isrTask",
            "pipetask_isr.isr_task:IsrTask",
            "instrument signature removal of each raw, written as postISRCCD",
            kind="cmdline",
        ),
        Description(
            "makeBias",
            "pipetask_isr.calib_tasks:MakeBiasTask",
            "master bias per detector from bias frames (clipped mean)",
            kind="cmdline",
        ),
        Description(
            "makeFlat",
            "pipetask_isr.calib_tasks:MakeFlatTask",
            "master flat per detector and filter from flat frames (normalised to 1)",
            kind="cmdline",
        ),
        Description("overscan", "pipetask_isr.overscan:OverscanTask", "overscan level subtraction"),
        Description(
            "assembleCcd",
            "pipetask_isr.assemble:AssembleCcdTask",
            "assembly and trimming of a CCD's amplifiers",
        ),
    ]


@hookimpl
def pipetask_formats():
    """Storage format ``defects``."""
    return [
        Description(
            "defects",
            "pipetask_isr.defects:DefectsFormat",
            "bad pixel boxes as a FITS table (a calibration product)",
        )
    ]

"""Plugin hooks of pipetask-processing; imports nothing heavy (targets load when used)."""

from __future__ import annotations

from pipetask.plugins import Description, hookimpl

_M = "pipetask_processing."


@hookimpl
def pipetask_tasks() -> list[Description]:
    return [
        Description(
            "processCcd",
            _M + "process_ccd:ProcessCcdTask",
            "raw -> isr -> charImage -> calibrate: writes calexp, calexpBackground, src",
            kind="cmdline",
        ),
        Description(
            "calibrate",
            _M + "calibrate:CalibrateTask",
            "detect, deblend and measure sources (as a command: re-measure a calexp)",
            kind="cmdline",
        ),
        Description(
            "charImage",
            _M + "characterize:CharacterizeImageTask",
            "repair cosmic rays, subtract the background, measure the PSF",
        ),
        Description(
            "characterizeImage",
            _M + "steps:CharacterizeImageStepTask",
            "pipeline step: postISRCCD -> icExp, icExpBackground, icSrc (charImage)",
        ),
        Description(
            "calibrateImage",
            _M + "steps:CalibrateImageTask",
            "pipeline step: icExp, icExpBackground -> calexp, calexpBackground, src",
        ),
        Description(
            "visitSummary",
            _M + "visit_summary:VisitSummaryTask",
            "pipeline step: every CCD's PSF width, background and source count, per visit",
        ),
        Description(
            "readPostIsrCcd",
            _M + "process_ccd:ReadPostIsrTask",
            "isr retarget: read the stored postISRCCD instead of running ISR",
        ),
        Description(
            "measurePsf",
            _M + "measure_psf:MeasurePsfTask",
            "Gaussian PSF width from bright isolated stars",
        ),
        Description(
            "sepBackground", _M + "background:SepBackgroundTask", "background mesh by sep (default)"
        ),
        Description(
            "photutilsBackground",
            _M + "background:PhotutilsBackgroundTask",
            "background mesh by photutils Background2D",
        ),
        Description(
            "sepDetection",
            _M + "detection:SepDetectionTask",
            "PSF-smoothed thresholding, footprints by sep (default)",
        ),
        Description(
            "photutilsDetection",
            _M + "detection:PhotutilsDetectionTask",
            "PSF-smoothed thresholding, footprints by photutils",
        ),
        Description(
            "sepDeblend",
            _M + "deblend:SepDeblendTask",
            "multi-threshold deblending by sep (default)",
        ),
        Description(
            "photutilsDeblend",
            _M + "deblend:PhotutilsDeblendTask",
            "multi-threshold deblending by photutils",
        ),
        Description(
            "sepMeasurement",
            _M + "measurement:SepMeasurementTask",
            "centroids, apertures and Kron fluxes by sep (default)",
        ),
        Description(
            "photutilsMeasurement",
            _M + "measurement:PhotutilsMeasurementTask",
            "centroids, apertures and Kron fluxes by photutils",
        ),
        Description(
            "astroscrappyRepair",
            _M + "repair:AstroscrappyRepairTask",
            "cosmic rays by astroscrappy (L.A.Cosmic), masked and interpolated (default)",
        ),
        Description("noRepair", _M + "repair:NoRepairTask", "leave cosmic rays alone"),
    ]


@hookimpl
def pipetask_pipelines() -> list[Description]:
    return [
        Description(
            "processing",
            "pipetask_processing:pipelines/processing.toml",
            "isr -> characterizeImage -> calibrate per CCD, then visitSummary per visit",
        )
    ]


@hookimpl
def pipetask_formats() -> list[Description]:
    return [
        Description(
            "fitsTable",
            _M + "table_format:FitsTableFormat",
            "astropy Table as a FITS binary table (source catalogs)",
        )
    ]


@hookimpl
def pipetask_thumbnailers() -> list[Description]:
    return [
        Description(
            "calexp",
            "pipetask_processing.thumbnail:thumbnail",
            "calexp thumbnail with its detected sources circled",
        )
    ]


@hookimpl
def pipetask_measurers() -> list[Description]:
    return [
        Description("src", _M + "measure:sourceCount", "sources per CCD, from the src catalog"),
        Description(
            "calexp",
            _M + "measure:psfAndBackground",
            "PSF FWHM (calexp metadata) and background (calexpBackground) per CCD",
        ),
    ]

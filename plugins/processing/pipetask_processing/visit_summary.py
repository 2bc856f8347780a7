"""``visitSummary``: one table per visit, a row per CCD, from every CCD's calexp and src.

A gather: one quantum per visit reads the ``calexp``, ``calexpBackground`` and ``src`` of
every CCD of the visit (``multiple`` inputs). When one CCD of a visit failed upstream, the
visit's summary is blocked with it (a summary that silently lacks a CCD would read as a
complete one); the other visits are summarised.
"""

from __future__ import annotations

import math

from pipetask import Config, Field, Struct, Task, TaskError, timeMethod
from pipetask.pipeline import Connections, Input, Output

#: The summary's columns, after the visit's data-ID keys: name, FITS unit, description.
COLUMNS = (
    ("psfSigma", "pix", "Gaussian PSF sigma (PSFSIGMA)"),
    ("psfFwhm", "pix", "PSF FWHM"),
    ("psfStars", "", "stars the PSF width was measured on"),
    ("psfFallback", "", "True: too few stars, the configured width"),
    ("skyBg", "", "median of the subtracted background (electrons per pixel)"),
    ("skyNoise", "", "sqrt of the median variance of unmasked pixels (electrons)"),
    ("nSources", "", "rows of src (deblended children included)"),
    ("nGoodSources", "", "rows of src whose PSF flux S/N >= minSnr and not flagged"),
    ("apCorr", "", "aperture correction applied to the PSF fluxes (APCORR)"),
)


class VisitSummaryConnections(Connections, dimensions=("visit",)):
    """One quantum per visit, gathering every CCD."""

    calexps = Input("calexp", doc="every CCD's calibrated exposure", multiple=True)
    backgrounds = Input("calexpBackground", doc="every CCD's background", multiple=True)
    catalogs = Input("src", doc="every CCD's source catalog", multiple=True)
    summary = Output("visitSummary", doc="one row per CCD of the visit")


class VisitSummaryConfig(Config):
    connections = VisitSummaryConnections.makeField()
    minSnr = Field(doc="PSF-flux S/N of a source counted in nGoodSources", dtype=float, default=5.0)
    badFlag = Field(
        doc="Catalog flag column that excludes a source from nGoodSources",
        dtype=str,
        default="base_PsfFlux_flag",
    )


class VisitSummaryTask(Task):
    """Gather every CCD's PSF width, background level and source counts of a visit."""

    ConfigClass = VisitSummaryConfig
    _DefaultName = "visitSummary"

    @timeMethod
    def runQuantum(self, butlerQC, inputRefs, outputRefs) -> Struct:
        """Read every CCD of the visit and write its summary table."""
        self.log.info(
            "Summarising data ID %s over %d CCDs", butlerQC.dataId, len(inputRefs.calexps)
        )
        rows = []
        for calexpRef, bgRef, srcRef in zip(
            inputRefs.calexps, inputRefs.backgrounds, inputRefs.catalogs, strict=True
        ):
            rows.append(
                (
                    calexpRef.dataId,
                    butlerQC.get(calexpRef),
                    butlerQC.get(bgRef),
                    butlerQC.get(srcRef),
                )
            )
        result = self.run(rows)
        butlerQC.put(result.summary, outputRefs.summary)
        return result

    def run(self, rows) -> Struct:
        """``rows``: ``(dataId, calexp, background, src)`` per CCD; returns ``summary``,
        an astropy Table with the data-ID keys then :data:`COLUMNS`."""
        import numpy as np
        from astropy.table import Table

        if not rows:
            raise TaskError("no CCD to summarise")
        keys = list(rows[0][0])
        values: dict[str, list] = {k: [] for k in keys}
        values.update({name: [] for name, _unit, _doc in COLUMNS})
        for dataId, calexp, background, src in rows:
            for key in keys:
                values[key].append(dataId[key])
            for name, value in self.measure(calexp, background, src).items():
                values[name].append(value)
        table = Table()
        for key in keys:
            table[key] = np.asarray(values[key])
        for name, unit, doc in COLUMNS:
            table[name] = np.asarray(values[name])
            table[name].unit = unit or None
            table[name].description = doc
        table.meta["NCCD"] = len(rows)
        table.meta["MINSNR"] = self.config.minSnr
        self.metadata["nCcd"] = len(rows)
        return Struct(summary=table)

    def measure(self, calexp, background, src) -> dict:
        """The summary values of one CCD."""
        import numpy as np

        meta = calexp.metadata
        if "PSFSIGMA" not in meta:
            raise TaskError("a calexp has no PSFSIGMA in its header: not written by calibrate")
        mi = calexp.maskedImage
        good = np.isfinite(mi.variance) & (mi.mask == 0)
        variance = float(np.median(mi.variance[good])) if good.any() else math.nan
        flux = np.asarray(src["base_PsfFlux_instFlux"], float) if len(src) else np.zeros(0)
        err = np.asarray(src["base_PsfFlux_instFluxErr"], float) if len(src) else np.zeros(0)
        usable = (err > 0) & np.isfinite(flux)
        usable[usable] &= flux[usable] / err[usable] >= self.config.minSnr
        if self.config.badFlag in src.colnames:
            usable &= ~np.asarray(src[self.config.badFlag], bool)
        return {
            "psfSigma": float(meta["PSFSIGMA"]),
            "psfFwhm": float(meta.get("PSF_FWHM", math.nan)),
            "psfStars": int(meta.get("PSFNSTAR", 0)),
            "psfFallback": bool(meta.get("PSFFALLB", False)),
            "skyBg": float(np.median(background.image)),
            "skyNoise": math.sqrt(variance) if variance >= 0 else math.nan,
            "nSources": len(src),
            "nGoodSources": int(usable.sum()),
            "apCorr": float(src.meta.get("APCORR", math.nan)),
        }

"""pipetask-processing: single-frame processing in LSST's shape.

``processCcd`` runs ``isr`` -> ``charImage`` (``repair``, ``background``, ``detection``,
``measurePsf``) -> ``calibrate`` (``detection``, ``deblend``, ``measurement``) and writes
``calexp``, ``calexpBackground`` and the ``src`` catalog. Algorithms come from backends
chosen by retarget: sep (default), photutils, astroscrappy.
"""

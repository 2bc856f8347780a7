"""The HTML report of a run: one self-contained page (inline CSS, JS and SVG).

:mod:`.model` is what the page shows, independent of how a run was recorded;
:mod:`.aggregate` summarises quanta per task; :mod:`.svg` draws histograms, the task
graph and plots; :mod:`.rerun` writes the command that reruns a group of data IDs;
:mod:`.page` assembles the HTML. The core renders everything with the standard library;
image thumbnails come from a plugin as PNG bytes.
"""

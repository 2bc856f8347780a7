"""obs_synth: a simulated camera (several CCDs per visit) and a generator of its raws.

``python -m obs_synth.simulate OUTDIR --visits N --ccds M`` writes raws that
``pipetask ingest REPO OUTDIR --camera synth`` turns into a repository.
"""

"""The original's ``debug.py`` convention, for --debug: copy this file into the working
directory (or a directory of $PYTHONPATH, or pass it with --debug-file) and set the
variables of the tasks you want.

An LSST ``debug.py`` works unchanged too::

    import lsstDebug

    def DebugInfo(name):
        di = lsstDebug.getInfo(name)
        if name == "lsst.pipe.tasks.exampleCmdLineTask":
            di.display = 1
        return di

    lsstDebug.Info = DebugInfo
"""

from pipetask import debug

debug.Info("exampleTask").display = True

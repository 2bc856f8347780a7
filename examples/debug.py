"""The original's ``debug.py`` convention, for --debug: copy this file into the working
directory (or pass it with --debug-file) and set the variables of the tasks you want."""

from pipetask import debug

debug.Info("exampleTask").display = True

"""pipetask's example command-line tasks: ``exampleTask`` and ``statsWriter``."""

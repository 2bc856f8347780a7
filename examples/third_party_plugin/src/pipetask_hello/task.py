"""``HelloTask``: the smallest useful task, with a config and a ``run`` returning a Struct."""

from pipetask import Config, Field, RangeField, Struct, Task, timeMethod


class HelloConfig(Config):
    greeting = Field("Word to greet with", str, default="Hello")
    repeat = RangeField("How many times to greet", int, default=1, min=1, max=10)


class HelloTask(Task):
    """Greet someone by name, ``repeat`` times."""

    ConfigClass = HelloConfig
    _DefaultName = "helloTask"

    @timeMethod
    def run(self, name: str) -> Struct:
        """Return the greeting lines and how many there are."""
        lines = [f"{self.config.greeting}, {name}!"] * self.config.repeat
        for line in lines:
            self.log.info(line)
        return Struct(lines=lines, count=len(lines))

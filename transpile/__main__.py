"""``python -m transpile`` is the ``flowbridge`` command."""

from .cli import main

main()

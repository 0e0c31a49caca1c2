"""``python -m transpile`` is the ``flowbridge`` command."""

import os
import sys

# ``python -m`` puts the current folder first on sys.path; run from inside a repo being
# converted, its ``black.py`` or ``libcst/`` would then be imported in place of flowbridge's own
# dependencies, and run. The console script does not have it; neither does this, unless the
# folder is flowbridge's own checkout.
_first = os.path.realpath(sys.path[0] or os.curdir) if sys.path else None
_checkout = os.path.realpath(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if (
    not getattr(sys.flags, "safe_path", False)
    and _first == os.path.realpath(os.curdir) != _checkout
):
    del sys.path[0]

from .entry import main  # noqa: E402

main()

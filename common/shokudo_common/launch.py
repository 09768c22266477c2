"""``python -m shokudo_common.launch run --config … module:Service``: nameko's own command line,
with eventlet's deprecation warning silenced before nameko imports eventlet.

The warning is printed once per process as nine plain-text lines ahead of the JSON log lines;
``PYTHONWARNINGS`` cannot match it (its message begins with a newline and its class is not a
DeprecationWarning). Everything else nameko does, and every other warning, is unchanged.
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from nameko.cli.main import main  # noqa: E402 - the filter must come before eventlet loads

if __name__ == "__main__":
    main()

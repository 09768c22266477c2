"""Root of every test run. nameko 2.14 no longer monkey-patches on its own, and without it the
tests hang on the first blocking socket call: patch before anything imports a socket."""

import eventlet

eventlet.monkey_patch()

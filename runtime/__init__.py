"""The one runtime: the composition root, the event pump and the housekeeper.

It sits below the web app (``kiosk/`` is one client of it) and above the core and the
adapters: ``locker serve``, ``locker demo``, ``locker sim run``, the benchmarks and the tests
all build the same :class:`runtime.controller.Controller`.
"""

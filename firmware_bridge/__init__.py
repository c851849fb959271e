"""Lock-control boards on a serial line: codecs (``cu16``, ``xor8a``), ``bus``, ``poller``.

Knows bytes and boards only; nothing here imports the rest of the controller.
"""

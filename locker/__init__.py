"""Domain core of the document pickup locker.

Imports no adapter (kiosk, hardware, firmware_bridge, notify, simulator): adapters
implement the ports in :mod:`locker.ports` and call the services in :mod:`locker.services`.
"""

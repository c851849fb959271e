"""Layout files shipped with the simulator (``demo.toml``)."""

"""The city's fleet over MQTT: the wire contract, the box's link and the centre.

* :mod:`fleet.contract` — topics and payloads (one pydantic model each), shared by both ends;
  ``docs/fleet.asyncapi.yaml`` is generated from it (:mod:`fleet.asyncapi`).
* :mod:`fleet.mqtt` — broker URLs and the paho-mqtt client both ends build from them.
* :mod:`fleet.box` — the box's side: a sink of the event outbox, started by the runtime when
  ``[fleet] broker_url`` is set; it never blocks the box, which works fully without it.
* :mod:`fleet.centre` — ``locker fleet serve``: a separate program storing what the boxes send
  in PostgreSQL and offering one API and one control room for the city.

Nothing in ``locker/`` imports this package; the runtime loads :mod:`fleet.box` only when a
broker is configured, and ``kiosk/cli.py`` loads :mod:`fleet.cli` only for ``locker fleet``.
"""

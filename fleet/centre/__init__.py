"""``locker fleet serve``: the city's centre (PostgreSQL, one API, one control room).

:mod:`~fleet.centre.tables` and its own Alembic migrations, :mod:`~fleet.centre.store` (every
write: events deduplicated by message id, box state, commands, alerts),
:mod:`~fleet.centre.ingest` (the MQTT subscriber and its batching writer),
:mod:`~fleet.centre.relay` (commands to a box and their answers), :mod:`~fleet.centre.alerts`
(silence, offline alerts, the alert outbox and its SMTP worker), :mod:`~fleet.centre.app` (the
API and the pages) and :mod:`~fleet.centre.service` (the composition root that starts them).
"""

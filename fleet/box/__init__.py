"""The box's side of the fleet: :class:`fleet.box.link.FleetLink`, started by the runtime."""

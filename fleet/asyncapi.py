"""``docs/fleet.asyncapi.yaml``, generated from :mod:`fleet.contract` (AsyncAPI 3.0).

The models are the one source; this module lays them out as channels, operations and message
schemas. ``python -m fleet.asyncapi > docs/fleet.asyncapi.yaml`` rewrites the file, and a test
fails when the file and the models differ.
"""

from __future__ import annotations

import sys
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from fleet.contract import PAYLOADS, DeliveryFacts, Topic

TITLE = "locker fleet: boxes and the city's centre over MQTT"
REF = "#/components/schemas/{model}"
CHANNELS: dict[Topic, dict[str, Any]] = {
    Topic.STATUS: {
        "from": "box",
        "qos": 1,
        "retain": True,
        "summary": "Connected or not; the last will (reason lost) marks the box offline.",
    },
    Topic.STATE: {
        "from": "box",
        "qos": 1,
        "retain": True,
        "summary": "Health, compartments by size and state, boards, alarms, backlog, version.",
    },
    Topic.HEARTBEAT: {
        "from": "box",
        "qos": 0,
        "retain": False,
        "summary": "Every heartbeat_s while connected; the centre marks a silent box offline.",
    },
    Topic.EVENTS: {
        "from": "box",
        "qos": 1,
        "retain": False,
        "summary": (
            "The box's event outbox in order (seq), each event with its event id as message_id;"
            " resent until the centre's receipt covers it, so duplicates are dropped by id."
        ),
    },
    Topic.RECEIPTS: {
        "from": "centre",
        "qos": 1,
        "retain": False,
        "summary": "The centre has stored every event of the box up to stored_through.",
    },
    Topic.COMMANDS: {
        "from": "centre",
        "qos": 1,
        "retain": False,
        "summary": (
            "announce, cancel or open (a technician's remote open with a reason); each with a"
            " transaction_id and expires_at. A repeated transaction_id is answered again, never"
            " carried out twice."
        ),
    },
    Topic.ANSWERS: {
        "from": "box",
        "qos": 1,
        "retain": False,
        "summary": "The answer to one command, with its transaction_id and the HTTP status.",
    },
}


def _name(model: type[BaseModel]) -> str:
    return model.__name__


def document() -> dict[str, Any]:
    found: set[type[BaseModel]] = {DeliveryFacts, *(m for ms in PAYLOADS.values() for m in ms)}
    models = sorted(found, key=_name)
    _, schema = models_json_schema(
        [(m, "serialization") for m in models], ref_template=REF, title=TITLE
    )
    schemas: dict[str, Any] = schema.get("$defs", {})
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for kind, info in CHANNELS.items():
        channel_messages = {}
        for model in PAYLOADS[kind]:
            messages[_name(model)] = {
                "name": _name(model),
                "title": (model.__doc__ or _name(model)).strip().splitlines()[0],
                "contentType": "application/json",
                "payload": {"$ref": REF.format(model=_name(model))},
            }
            channel_messages[_name(model)] = {"$ref": f"#/components/messages/{_name(model)}"}
        channels[kind.value] = {
            "address": f"lockers/{{box_id}}/{kind.value}",
            "summary": info["summary"],
            "parameters": {"box_id": {"$ref": "#/components/parameters/box_id"}},
            "messages": channel_messages,
        }
        sender = info["from"]
        receiver = "centre" if sender == "box" else "box"
        bindings = {"mqtt": {"qos": info["qos"], "retain": info["retain"]}}
        refs = [{"$ref": f"#/channels/{kind.value}/messages/{name}"} for name in channel_messages]
        for side, action in ((sender, "send"), (receiver, "receive")):
            operations[f"{side}{action.title()}{kind.value.title()}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{kind.value}"},
                "bindings": bindings,
                "messages": refs,
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": TITLE,
            "version": "1.0.0",
            "description": (
                "Generated from fleet/contract.py (python -m fleet.asyncapi); do not edit by"
                " hand. A box signs in with its box id as user name and may use only"
                " lockers/<its id>/... (deploy/mosquitto/acl). No message from a box carries a"
                " name, phone number, e-mail address or date of birth."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "city": {
                "host": "broker.example.org:8883",
                "protocol": "mqtts",
                "protocolVersion": "5",
                "description": "The city's Mosquitto (deploy/mosquitto/locker.conf), TLS only.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "parameters": {
                "box_id": {
                    "description": "The box's id: also its broker user name (a-z, 0-9, -, _).",
                }
            },
            "messages": messages,
            "schemas": schemas,
        },
    }


def to_yaml() -> str:
    import yaml  # noqa: PLC0415 - only the generator needs it (a development dependency)

    return yaml.safe_dump(document(), sort_keys=False, allow_unicode=True, width=100)


if __name__ == "__main__":
    sys.stdout.write(to_yaml())

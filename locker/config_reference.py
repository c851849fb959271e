"""docs/configuration.md, generated from the settings model so that the two cannot drift.

Regenerate with ``locker config reference > docs/configuration.md``; a test compares them.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from locker.config import ENV_DELIMITER, ENV_PREFIX, Settings

INTRO = """# Configuration

Every setting has a default. Give settings in a TOML file (`locker --config FILE …`, or the
file named by `LOCKER_CONFIG`), one table per section:

```toml
[locker]
bank_id = "rathaus-barmen"
location = "Rathaus Barmen, Johannes-Rau-Platz 1"
secret_key = "…48 random characters…"

[sms]
enabled = true
account_sid = "AC…"
auth_token = "…"
from_number = "Stadt"
```

or as environment variables `LOCKER_<SECTION>__<KEY>` (for example
`LOCKER_POLICY__PICKUP_DAYS=21`), which override the file. Lists are written as JSON in a
variable (`LOCKER_POLICY__ACCESSIBLE_ROWS=[1,2]`). A mistake is reported with the key, where
it came from (the file or the variable) and what was expected; nothing starts with a wrong
setting. `locker config check` validates a configuration without starting anything.

This page is generated from the code (`locker config reference`); a test keeps them equal.
"""


def _default(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "(required)"
    else:
        value = field.default
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, list):
        return json.dumps([str(v) for v in value])
    return str(value)


def reference_markdown() -> str:
    parts = [INTRO]
    for section, section_field in Settings.model_fields.items():
        model = section_field.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        parts.append(f"\n## `[{section}]`\n")
        if model.__doc__ and not model.__doc__.startswith("Usage docs"):
            parts.append(" ".join(model.__doc__.split()))
        parts.append("\n| setting | default | environment variable | meaning |\n|---|---|---|---|")
        for key, field in model.model_fields.items():
            variable = f"{ENV_PREFIX}{section.upper()}{ENV_DELIMITER}{key.upper()}"
            meaning = " ".join((field.description or "").split()).replace("|", "\\|")
            default = _default(field).replace("|", "\\|")
            parts.append(f"| `{section}.{key}` | `{default}` | `{variable}` | {meaning} |")
    return "\n".join(parts) + "\n"

"""Settings: TOML plus LOCKER_<SECTION>__<KEY>; every mistake names the key and where it was."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from locker.config import DEFAULT_SECRET_KEY, ConfigError, Settings, load_settings
from locker.config_reference import reference_markdown

GOOD_SECRET = "s" * 40


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "locker.toml"
    path.write_text(body)
    return path


def error_of(tmp_path: Path, body: str | None = None, env: dict[str, str] | None = None) -> str:
    path = write(tmp_path, body) if body is not None else None
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={"LOCKER_LOCKER__SECRET_KEY": GOOD_SECRET, **(env or {})})
    return str(err.value)


def test_file_then_environment_override(tmp_path):
    path = write(
        tmp_path,
        '[locker]\nbank_id = "rathaus"\n[policy]\npickup_days = 10\n'
        '[sms]\napi_base_url = "http://127.0.0.1:9999"\n',
    )
    settings = load_settings(
        path, environ={"LOCKER_LOCKER__SECRET_KEY": GOOD_SECRET, "LOCKER_POLICY__PICKUP_DAYS": "21"}
    )
    assert settings.locker.bank_id == "rathaus"  # from the file, not lost by the variable
    assert settings.policy.pickup_days == 21  # the variable wins
    assert settings.sms.api_base_url == "http://127.0.0.1:9999"


@pytest.mark.parametrize(
    ("body", "env", "expected"),
    [
        (
            "[polcy]\npickup_days = 3\n",
            {},
            r"\[polcy\] in .*locker.toml: unknown section \(did you mean 'policy'\?\)",
        ),
        (
            "[policy]\npickup_dayz = 3\n",
            {},
            r"policy.pickup_dayz in .*locker.toml: unknown setting \(did you mean 'pickup_days'\?\)",
        ),
        (
            '[policy]\npickup_days = "two weeks"\n',
            {},
            r"policy.pickup_days in .*locker.toml: .*integer.*'two weeks'",
        ),
        (
            "[policy]\npickup_days = 0\n",
            {},
            r"policy.pickup_days in .*locker.toml: .*greater than or equal to 1",
        ),
        (
            '[policy]\nsecond_factor_documents = ["idcard"]\n',
            {},
            r"policy.second_factor_documents in .*locker.toml: .*'id_card'",
        ),
        (
            '[email]\nsecurity = "tls"\n',
            {},
            r"email.security in .*locker.toml: .*'none', 'starttls' or 'ssl'",
        ),
        ("policy = 3\n", {}, r"\[policy\] in .*locker.toml: expected a table"),
        ("[policy\n", {}, r"config file .*locker.toml is not valid TOML: .*line 1"),
        (
            None,
            {"LOCKER_POLICY__PICKUP_DAYS": "abc"},
            r"policy.pickup_days in environment variable LOCKER_POLICY__PICKUP_DAYS: .*integer.*'abc'",
        ),
        (
            None,
            {"LOCKER_SMS__ACOUNT_SID": "AC1"},
            r"environment variable LOCKER_SMS__ACOUNT_SID: unknown setting 'acount_sid' \(did you mean 'account_sid'\?\)",
        ),
        (
            None,
            {"LOCKER_PICKUP_DAYS": "3"},
            r"environment variable LOCKER_PICKUP_DAYS: not a setting; expected LOCKER_<SECTION>__<KEY>",
        ),
        (
            None,
            {"LOCKER_KIOSK__PORT": "99999"},
            r"kiosk.port in environment variable LOCKER_KIOSK__PORT: .*65535",
        ),
    ],
)
def test_mistakes_name_the_key_and_the_place(tmp_path, body, env, expected):
    assert re.search(expected, error_of(tmp_path, body, env))


def test_every_problem_is_listed_at_once(tmp_path):
    message = error_of(tmp_path, "[policy]\npickup_days = 0\nretention_days = -1\n")
    assert "policy.pickup_days" in message and "policy.retention_days" in message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


@pytest.mark.parametrize("secret", [None, DEFAULT_SECRET_KEY, "short"])
def test_default_or_weak_secret_is_refused_outside_demo(tmp_path, secret):
    env = {"LOCKER_LOCKER__SECRET_KEY": secret} if secret else {}
    with pytest.raises(ConfigError, match=r"locker.secret_key in .*: must be a private random"):
        load_settings(environ=env)


def test_secret_is_never_echoed(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"LOCKER_LOCKER__SECRET_KEY": "hunter2-is-short"})
    assert "hunter2" not in str(err.value)


def test_demo_mode_accepts_the_default_secret():
    assert load_settings(environ={}, overrides={"locker": {"demo": True}}).locker.demo


def test_environment_is_left_as_it_was(monkeypatch):
    monkeypatch.setenv("UNRELATED", "1")
    load_settings(environ={"LOCKER_LOCKER__DEMO": "true"})
    import os

    assert os.environ["UNRELATED"] == "1" and "LOCKER_LOCKER__DEMO" not in os.environ


def test_docs_list_every_setting():
    page = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    assert page == reference_markdown(), "run: locker config reference > docs/configuration.md"
    for section, model in Settings.model_fields.items():
        for key in model.annotation.model_fields:  # type: ignore[union-attr]
            variable = f"LOCKER_{section.upper()}__{key.upper()}"
            assert f"`{section}.{key}`" in page and variable in page, variable


def test_a_removed_setting_is_ignored_with_a_warning_not_refused(tmp_path, caplog):
    """``security.bank_failures_per_hour`` was removed with the locker-wide budget; an upgraded
    box whose file still has it must start, and say that it can go."""
    path = write(tmp_path, "[security]\nbank_failures_per_hour = 30\nkiosk_max_failures = 4\n")
    variable = "LOCKER_SECURITY__BANK_FAILURES_PER_HOUR"
    with caplog.at_level("WARNING", logger="locker.config"):
        settings = load_settings(
            path, environ={"LOCKER_LOCKER__SECRET_KEY": GOOD_SECRET, variable: "9"}
        )
    assert settings.security.kiosk_max_failures == 4  # the rest of the section still read
    assert not hasattr(settings.security, "bank_failures_per_hour")
    assert len(settings.deprecations) == 2
    assert (
        f"{path}: [security] bank_failures_per_hour is deprecated and ignored"
        in (settings.deprecations[0])
    )
    assert settings.deprecations[1].startswith(f"environment variable {variable}:")
    assert [r.getMessage() for r in caplog.records] == settings.deprecations
    assert load_settings(environ={"LOCKER_LOCKER__SECRET_KEY": GOOD_SECRET}).deprecations == []
    typo = error_of(tmp_path, "[security]\nbank_failure = 30\n")  # other keys: still refused
    assert "security.bank_failure in" in typo and "unknown setting" in typo

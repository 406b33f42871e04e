"""Settings parsing (docs/protocol.md#settings): required variables, int/bool/str rules, additional
headers."""

from __future__ import annotations

import pytest
from elasticio_sailor.settings import (
    ACCEPTED_BUT_IGNORED,
    ALWAYS_REQUIRED,
    REQUIRED_UNLESS_SHUTDOWN_HOOK,
    SettingsError,
    additional_header_name,
    load_task_settings,
    parse_bool,
    parse_int,
)

SECRET_KEY = "api-key-SECRET-marker"
SECRET_PASSWORD = "crypto-password-SECRET-marker"


def std_env(**overrides: str) -> dict[str, str]:
    env = {f"ELASTICIO_{name}": f"value-{name.lower()}" for name in ALWAYS_REQUIRED}
    env.update({f"ELASTICIO_{name}": f"value-{name.lower()}"
                for name in REQUIRED_UNLESS_SHUTDOWN_HOOK})
    env["ELASTICIO_API_KEY"] = SECRET_KEY
    env["ELASTICIO_MESSAGE_CRYPTO_PASSWORD"] = SECRET_PASSWORD
    env["ELASTICIO_MESSAGE_CRYPTO_IV"] = "iv=any16_symbols"
    env.update(overrides)
    return env


def test_unset_settings_take_the_node_sailors_defaults() -> None:
    settings = load_task_settings(std_env())
    assert settings.prefetch == 1
    assert settings.protocol_version == 1
    assert settings.input_format == "default"
    assert settings.rebound_initial_expiration_ms == 15000
    assert settings.rebound_limit == 20
    assert settings.outgoing_message_size_limit == 10485760
    assert settings.amqp_publish_retry_attempts is None
    assert settings.delivery_mode == 1
    assert settings.additional_headers == ()


@pytest.mark.parametrize("name", ALWAYS_REQUIRED + REQUIRED_UNLESS_SHUTDOWN_HOOK)
@pytest.mark.parametrize("how", ["unset", "empty"])
def test_missing_required_variable(name: str, how: str) -> None:
    env = std_env()
    if how == "unset":
        del env[f"ELASTICIO_{name}"]
    else:
        env[f"ELASTICIO_{name}"] = ""
    with pytest.raises(SettingsError, match=f"^ELASTICIO_{name} is missing$"):
        load_task_settings(env)


def test_first_missing_variable_in_spec_order_wins() -> None:
    env = std_env()
    del env["ELASTICIO_AMQP_URI"]
    del env["ELASTICIO_STEP_ID"]
    with pytest.raises(SettingsError, match="ELASTICIO_STEP_ID is missing"):
        load_task_settings(env)


def test_shutdown_hook_mode_needs_no_amqp_variables() -> None:
    env = {k: v for k, v in std_env().items()
           if k.removeprefix("ELASTICIO_") not in REQUIRED_UNLESS_SHUTDOWN_HOOK}
    settings = load_task_settings({**env, "ELASTICIO_HOOK_SHUTDOWN": "1"})
    assert settings.hook_shutdown is True
    # quirk (docs/protocol.md#required-settings): any non-empty raw value skips the check, the
    # switch itself says "off"
    settings = load_task_settings({**env, "ELASTICIO_HOOK_SHUTDOWN": "false"})
    assert settings.hook_shutdown is False


@pytest.mark.parametrize(("raw", "expected"), [
    (None, 7), ("", 7), ("12", 12), ("12abc", 12), ("  3", 3), ("+4", 4), ("-5", -5),
    ("0", 7), ("abc", 7), ("0x10", 7), ("1.9", 1),
])
def test_parse_int(raw: str | None, expected: int) -> None:
    assert parse_int(raw, 7) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    (None, None), ("", False), ("false", False), ("0", True), ("no", True), ("False", True),
    ("true", True), ("1", True),
])
def test_parse_bool(raw: str | None, expected: bool | None) -> None:
    assert parse_bool(raw, None) is expected  # type: ignore[arg-type]


def test_prefetch_below_one_or_not_a_number_is_one() -> None:
    assert load_task_settings(std_env(ELASTICIO_RABBITMQ_PREFETCH_SAILOR="2")).prefetch == 2
    assert load_task_settings(std_env(ELASTICIO_RABBITMQ_PREFETCH_SAILOR="0")).prefetch == 1
    assert load_task_settings(std_env(ELASTICIO_RABBITMQ_PREFETCH_SAILOR="abc")).prefetch == 1


def test_rebound_limit_zero_means_default() -> None:
    assert load_task_settings(std_env(ELASTICIO_REBOUND_LIMIT="0")).rebound_limit == 20


def test_boolean_settings_are_read_and_set_the_delivery_mode() -> None:
    settings = load_task_settings(std_env(
        ELASTICIO_NO_ERROR_REPLIES="0",
        ELASTICIO_AMQP_PERSISTENT_MESSAGES="true",
        ELASTICIO_NO_SELF_PASSTRHOUGH="false",
    ))
    assert settings.no_error_replies is True
    assert settings.amqp_persistent_messages is True
    assert settings.delivery_mode == 2
    assert settings.no_self_passthrough is False


@pytest.mark.parametrize(("var", "header"), [
    ("ELASTICIO_TENANT_ID", "tenantId"),
    ("ELASTICIO_FLOW_VERSION", "flowVersion"),
    ("ELASTICIO_SECOND_ELASTICIO_ENV", "secondElasticioEnv"),
    ("FOO__BAR", "fooBar"),
    ("ContractId", "contractId"),
    ("VAR_1A", "var1A"),
    ("X2Y", "x2Y"),
    ("API_V2_URL", "apiV2Url"),
])
def test_additional_header_names(var: str, header: str) -> None:
    assert additional_header_name(var) == header


def test_additional_headers_skip_unset_variables() -> None:
    settings = load_task_settings(std_env(
        ELASTICIO_ADDITIONAL_VARS_FOR_HEADERS=(
            "ELASTICIO_TENANT_ID, ELASTICIO_FLOW_VERSION,ELASTICIO_NOT_SET"),
        ELASTICIO_TENANT_ID="tenant-xyz",
        ELASTICIO_FLOW_VERSION="17",
    ))
    assert settings.additional_headers == (("tenantId", "tenant-xyz"), ("flowVersion", "17"))


def test_iv_must_be_16_bytes() -> None:
    with pytest.raises(SettingsError, match="16 bytes"):
        load_task_settings(std_env(ELASTICIO_MESSAGE_CRYPTO_IV="short"))


def test_secrets_are_not_in_repr() -> None:
    text = repr(load_task_settings(std_env(ELASTICIO_AMQP_URI="amqp://u:pw-SECRET@h/")))
    assert "SECRET" not in text


def test_node_settings_without_a_use_here_are_accepted_and_not_read() -> None:
    """PROCESS_AMQP_DRAIN and WAIT_MESSAGES_TIMEOUT: any value is fine, nothing changes."""
    plain = load_task_settings(std_env())
    with_them = load_task_settings(std_env(
        **{f"ELASTICIO_{name}": "garbage" for name in ACCEPTED_BUT_IGNORED}))
    assert with_them == plain
    assert set(ACCEPTED_BUT_IGNORED) == {"PROCESS_AMQP_DRAIN", "WAIT_MESSAGES_TIMEOUT"}


@pytest.mark.parametrize(("raw", "expected"), [
    (None, 25.0), ("10", 10.0), ("0.5", 0.5), ("0", 0.0), ("-1", 25.0), ("soon", 25.0),
    ("inf", 25.0),
])
def test_shutdown_grace_seconds(raw: str | None, expected: float) -> None:
    env = std_env() if raw is None else std_env(ELASTICIO_SHUTDOWN_GRACE_S=raw)
    assert load_task_settings(env).shutdown_grace_s == expected

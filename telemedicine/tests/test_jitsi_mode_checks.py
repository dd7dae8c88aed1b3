"""
`manage.py check` for the Jitsi modes: a missing or malformed secret is an error that
says what is wrong, never what the secret is.
"""

import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from telemedicine.checks import check_jitsi_mode
from telemedicine.tests.shortcuts import telemedicine
from telemedicine.tests.test_tokens import JAAS_DOCUMENTED_FEATURES  # 8x8's list, written down once

SECRET = "s3cret-for-tests-only-0123456789-abcdefghijklmnop"
TENANT = "vpaas-magic-cookie-1fc542a3e4414a44b2611668195e2bfe"
KID = f"{TENANT}/4f4910"


def pem(key, password=None):
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


@pytest.fixture(scope="module")
def key_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    files = {
        "good": pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "small": pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
        "elliptic": pem(ec.generate_private_key(ec.SECP256R1())),
        "encrypted": pem(rsa.generate_private_key(public_exponent=65537, key_size=2048), b"passphrase"),
        "garbage": b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
    }
    paths = {}
    for name, content in files.items():
        path = folder / f"{name}.pem"
        path.write_bytes(content)
        paths[name] = str(path)
    paths["missing"] = str(folder / "missing.pem")
    secret_file = folder / "secret"
    secret_file.write_text(SECRET + "\n")
    paths["secret"] = str(secret_file)
    return paths


def errors_for(**values):
    with telemedicine(**values):
        return check_jitsi_mode(None)


SELF_HOSTED = {
    "JITSI_MODE": "self_hosted",
    "JITSI_DOMAIN": "video.clinic.example",
    "JITSI_APP_ID": "clinic",
    "JITSI_APP_SECRET": SECRET,
    "JITSI_APP_SECRET_FILE": "",
}


def jaas(key_files, key="good", **values):
    return {
        "JITSI_MODE": "jaas",
        "JAAS_APP_ID": TENANT,
        "JAAS_KID": KID,
        "JAAS_PRIVATE_KEY_PATH": key_files.get(key, key),
        "JAAS_FEATURES": [],
    } | values


@pytest.mark.parametrize("mode", ["public", "self_hosted", "jaas"])
def test_a_complete_configuration_passes(key_files, mode):
    values = {"public": {"JITSI_MODE": "public"}, "self_hosted": SELF_HOSTED, "jaas": jaas(key_files)}[mode]
    assert errors_for(**values) == []


@pytest.mark.parametrize("feature", JAAS_DOCUMENTED_FEATURES)
def test_every_feature_jaas_documents_can_be_granted(key_files, feature):
    assert errors_for(**jaas(key_files, JAAS_FEATURES=[feature])) == []


def test_all_documented_features_at_once_pass(key_files):
    assert errors_for(**jaas(key_files, JAAS_FEATURES=JAAS_DOCUMENTED_FEATURES)) == []


def test_self_hosted_secret_may_come_from_a_file(key_files):
    assert errors_for(**SELF_HOSTED | {"JITSI_APP_SECRET": "", "JITSI_APP_SECRET_FILE": key_files["secret"]}) == []


@pytest.mark.parametrize(
    "values,expected_id,says",
    [
        ({"JITSI_MODE": "selfhosted"}, "telemedicine.E010", "must be one of public, self_hosted, jaas"),
        (SELF_HOSTED | {"JITSI_APP_ID": ""}, "telemedicine.E011", "JITSI_APP_ID is not set"),
        (SELF_HOSTED | {"JITSI_APP_SECRET": ""}, "telemedicine.E012", "is not set"),
        (
            SELF_HOSTED | {"JITSI_APP_SECRET": "", "JITSI_APP_SECRET_FILE": "/nonexistent/jitsi-secret"},
            "telemedicine.E012",
            "cannot be read",
        ),
        (SELF_HOSTED | {"JITSI_APP_SECRET": "tooshort-secret-31-characters!!"}, "telemedicine.E013", "too short"),
        (SELF_HOSTED | {"JITSI_DOMAIN": None}, "telemedicine.E014", "still meet.jit.si"),
    ],
)
def test_self_hosted_problems_are_reported(values, expected_id, says):
    errors = errors_for(**values)
    assert [error.id for error in errors] == [expected_id]
    assert says in errors[0].msg


@pytest.mark.parametrize(
    "change,expected_id,says",
    [
        ({"JAAS_APP_ID": ""}, "telemedicine.E015", "not set"),
        ({"JAAS_APP_ID": "my-clinic", "JAAS_KID": "my-clinic/4f4910"}, "telemedicine.E015", "not a JaaS tenant"),
        ({"JAAS_KID": ""}, "telemedicine.E016", "JAAS_KID is not set"),
        (
            {"JAAS_KID": "vpaas-magic-cookie-00000000000000000000000000000000/4f4910"},
            "telemedicine.E016",
            "does not belong",
        ),
        ({"JAAS_PRIVATE_KEY_PATH": ""}, "telemedicine.E017", "JAAS_PRIVATE_KEY_PATH is not set"),
        ({"JAAS_PRIVATE_KEY_PATH": "missing"}, "telemedicine.E017", "cannot be read"),
        ({"JAAS_PRIVATE_KEY_PATH": "garbage"}, "telemedicine.E017", "unencrypted PEM private key"),
        ({"JAAS_PRIVATE_KEY_PATH": "encrypted"}, "telemedicine.E017", "unencrypted PEM private key"),
        ({"JAAS_PRIVATE_KEY_PATH": "elliptic"}, "telemedicine.E017", "RSA key of at least 2048 bits"),
        ({"JAAS_PRIVATE_KEY_PATH": "small"}, "telemedicine.E017", "RSA key of at least 2048 bits"),
        ({"JAAS_FEATURES": ["recording", "sip-inbound"]}, "telemedicine.E018", "Unknown JAAS_FEATURES: sip-inbound"),
        # Names from other products are not JaaS's: `moderator` is a user claim, not a feature.
        ({"JAAS_FEATURES": ["moderator"]}, "telemedicine.E018", "known: livestreaming, recording"),
    ],
)
def test_jaas_problems_are_reported(key_files, change, expected_id, says):
    values = jaas(key_files) | change
    values["JAAS_PRIVATE_KEY_PATH"] = key_files.get(values["JAAS_PRIVATE_KEY_PATH"], values["JAAS_PRIVATE_KEY_PATH"])
    errors = errors_for(**values)
    assert [error.id for error in errors] == [expected_id]
    assert says in errors[0].msg


def test_messages_never_contain_a_secret_or_key(key_files):
    short_secret = "hunter2-is-my-password"
    messages = errors_for(**SELF_HOSTED | {"JITSI_APP_SECRET": short_secret})
    messages += errors_for(**jaas(key_files, "garbage"))
    text = " ".join(f"{error.msg} {error.hint}" for error in messages)
    assert len(messages) == 2
    assert short_secret not in text
    assert "not a key" not in text
    assert "BEGIN" not in text


def test_manage_py_check_fails_for_a_broken_mode(key_files):
    with telemedicine(**jaas(key_files, "missing")), pytest.raises(SystemCheckError, match="E017"):
        call_command("check")


def test_unreadable_secret_file_is_reported(key_files, tmp_path):
    if os.geteuid() == 0:
        # root reads any file; a directory stands in for "cannot be read".
        unreadable = tmp_path
    else:
        unreadable = tmp_path / "secret"
        unreadable.write_text(SECRET)
        unreadable.chmod(0)
    errors = errors_for(**SELF_HOSTED | {"JITSI_APP_SECRET": "", "JITSI_APP_SECRET_FILE": str(unreadable)})
    assert [error.id for error in errors] == ["telemedicine.E012"]


@pytest.mark.parametrize("length,ok", [(31, False), (32, True)])
def test_secret_length_boundary(length, ok):
    errors = errors_for(**SELF_HOSTED | {"JITSI_APP_SECRET": "x" * length})
    assert [error.id for error in errors] == ([] if ok else ["telemedicine.E013"])

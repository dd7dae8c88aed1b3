"""
Signed Jitsi tokens: the Jitsi server itself decides who enters which room, as whom, and when.

One token per person and per request of the room page, and only for someone
room_access() let in. Its claims follow the two documents that define them:

* self_hosted (Prosody `token` authentication, jitsi-meet-tokens): HS256 with the
  app secret; `iss` is the app id (Prosody accepts only its app_id as issuer by
  default), `aud` the app id too (accepted by default, `asap_accepted_audiences`
  is `*`), `sub` the Jitsi domain, `room` the bare room name.
  lib-jitsi-meet doc/tokens.md; jitsi-meet resources/prosody-plugins/token/util.lib.lua.
* jaas (8x8 Jitsi as a Service): RS256 with the API key's `kid` header, `iss` "chat",
  `aud` "jitsi", `sub` the tenant (vpaas-magic-cookie-...), `room` the bare room name
  (the tenant is already in `sub`), `moderator` and `features` as the strings
  "true"/"false". developer.8x8.com/jaas/docs/api-keys-jwt.

The token is valid from the window's opening to its closing (JWT `exp` is
exclusive, the window inclusive, hence one second past `closes_at`), and never
longer than the room page lets the call run (call_ends_in_seconds).

Nothing here logs: a token is a key to a consultation room.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from appointments.roles import display_name

from .access import call_ends_in_seconds, call_window, is_assigned_doctor
from .conf import JAAS, SELF_HOSTED, jitsi_domain, jitsi_mode, telemedicine_setting, uses_tokens

if TYPE_CHECKING:
    from appointments.models import Appointment

    from .access import Person

# Every feature a JaaS token can grant (context.features), in the order 8x8 documents them
# (developer.8x8.com/jaas/docs/api-keys-jwt: "Supported keys", then the "additional supported
# keys" for chat and polls that advanced branding can put behind a permission). Each one is
# "false" unless the clinic lists it in JAAS_FEATURES, and then "true" for the doctor only:
# JaaS honours features for moderators only, and the patient is never granted one.
JAAS_FEATURES = (
    "livestreaming",
    "recording",
    "transcription",
    "sip-inbound-call",
    "sip-outbound-call",
    "inbound-call",
    "outbound-call",
    "file-upload",
    "list-visitors",
    "send-groupchat",
    "create-polls",
)
JAAS_AUDIENCE = "jitsi"
JAAS_ISSUER = "chat"
# HS256 with a short secret can be brute-forced offline from one token: RFC 7518 asks
# for a key at least as long as the hash (32 bytes).
MIN_SECRET_LENGTH = 32


class TokenConfigurationError(Exception):
    """The chosen mode's secret is missing or unusable (manage.py check says which)."""


def self_hosted_secret() -> str:
    """JITSI_APP_SECRET, or the contents of the file JITSI_APP_SECRET_FILE names."""
    secret = telemedicine_setting("JITSI_APP_SECRET")
    path = telemedicine_setting("JITSI_APP_SECRET_FILE")
    if not secret and path:
        try:
            with open(path, encoding="utf-8") as secret_file:
                secret = secret_file.read().strip()
        except OSError as error:
            raise TokenConfigurationError(f"JITSI_APP_SECRET_FILE cannot be read ({error.strerror}).") from None
    if not secret:
        raise TokenConfigurationError("JITSI_APP_SECRET (or JITSI_APP_SECRET_FILE) is not set.")
    return secret


_private_keys: dict[tuple, RSAPrivateKey] = {}


def jaas_private_key() -> RSAPrivateKey:
    """The tenant's RSA private key, parsed once per file version (parsing checks the key, which is slow)."""
    path = telemedicine_setting("JAAS_PRIVATE_KEY_PATH")
    if not path:
        raise TokenConfigurationError("JAAS_PRIVATE_KEY_PATH is not set.")
    try:
        stat = os.stat(path)
        cache_key = (os.path.abspath(path), stat.st_mtime_ns, stat.st_size)
        if cache_key not in _private_keys:
            with open(path, "rb") as key_file:
                pem = key_file.read()
            try:
                key = load_pem_private_key(pem, password=None)
            except (ValueError, TypeError):
                # The exception text could quote the file; say only what is wrong.
                raise TokenConfigurationError(
                    "JAAS_PRIVATE_KEY_PATH does not hold an unencrypted PEM private key."
                ) from None
            if not isinstance(key, RSAPrivateKey) or key.key_size < 2048:
                raise TokenConfigurationError("JAAS_PRIVATE_KEY_PATH must hold an RSA key of at least 2048 bits.")
            _private_keys.clear()
            _private_keys[cache_key] = key
        return _private_keys[cache_key]
    except OSError as error:
        raise TokenConfigurationError(f"JAAS_PRIVATE_KEY_PATH cannot be read ({error.strerror}).") from None


def jitsi_room_name(appointment: Appointment) -> str:
    """The room name the External API joins: JaaS rooms live under the tenant ("<tenant>/<room>")."""
    room = appointment.get_jitsi_room_name()
    if jitsi_mode() == JAAS:
        return f"{telemedicine_setting('JAAS_APP_ID')}/{room}"
    return room


@dataclass(frozen=True)
class TokenLifetime:
    not_before: int
    expires: int


def token_lifetime(appointment: Appointment, now: datetime) -> TokenLifetime:
    """
    From the window's opening to its closing, cut short when the room page will end
    the call sooner (MAX_SESSION_DURATION, AUTO_END_SESSION_AFTER). Whole seconds.
    """
    window = call_window(appointment)
    now_ts = int(now.timestamp())
    window_end = int(window.closes_at.timestamp()) + 1  # exp is exclusive; closes_at is still inside
    call_end = now_ts + call_ends_in_seconds(appointment, now)
    return TokenLifetime(not_before=int(window.opens_at.timestamp()), expires=min(window_end, call_end))


@dataclass(frozen=True)
class Participant:
    """Who enters a room, as Jitsi is told: an id, a display name, and whether they run it."""

    id: str
    name: str
    moderator: bool


def participant(who: Person | Participant, appointment: Appointment) -> Participant:
    """The doctor or the patient as a Participant (guests are made as one: telemedicine/guests.py)."""
    if isinstance(who, Participant):
        return who
    return Participant(id=str(who.pk), name=display_name(who), moderator=is_assigned_doctor(who, appointment))


def user_context(person: Participant) -> dict:
    return {
        "id": person.id,
        "name": person.name,
        # Strings, as JaaS documents them; Prosody's token_affiliation accepts "true" as well as true.
        "moderator": "true" if person.moderator else "false",
    }


def room_token(appointment: Appointment, who: Person | Participant, now: datetime) -> str | None:
    """
    The token for `who` (the doctor, the patient, or a guest as a Participant) to enter the
    appointment's room now, or None in public mode.

    Call only for someone room_access() (or guest_access()) allowed: the token is the
    server-side proof of that decision.
    """
    if not uses_tokens():
        return None
    mode = jitsi_mode()
    person = participant(who, appointment)
    moderator = person.moderator
    lifetime = token_lifetime(appointment, now)
    user_claims = user_context(person)
    claims: dict[str, Any] = {
        "room": appointment.get_jitsi_room_name(),
        "iat": int(now.timestamp()),
        "nbf": lifetime.not_before,
        "exp": lifetime.expires,
        "context": {"user": user_claims},
    }
    if mode == SELF_HOSTED:
        app_id = telemedicine_setting("JITSI_APP_ID")
        claims |= {"iss": app_id, "aud": app_id, "sub": jitsi_domain()}
        # Prosody's token_affiliation (jitsi/jitsi-meet resources/prosody-plugins/mod_token_affiliation.lua)
        # makes affiliation "owner" (or moderator "true") an owner, any other token holder a member.
        # Only that holds the patient back: docs/jitsi.md says what else must stay off on the server.
        user_claims["affiliation"] = "owner" if moderator else "member"
        return jwt.encode(claims, self_hosted_secret(), algorithm="HS256")
    enabled = set(telemedicine_setting("JAAS_FEATURES"))
    claims |= {"iss": JAAS_ISSUER, "aud": JAAS_AUDIENCE, "sub": telemedicine_setting("JAAS_APP_ID")}
    # Features need a moderator anyway (JaaS docs); the patient is granted none. Every known
    # feature is spelled out, so nothing is left to the tenant's defaults.
    claims["context"]["features"] = {
        feature: "true" if moderator and feature in enabled else "false" for feature in JAAS_FEATURES
    }
    return jwt.encode(claims, jaas_private_key(), algorithm="RS256", headers={"kid": telemedicine_setting("JAAS_KID")})

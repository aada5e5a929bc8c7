"""Signed private_metadata: what a modal carries comes back only as SeatSync wrote it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from bot.slack.ids import SealedFor
from bot.slack.metadata import MAX_LENGTH, TamperedMetadata, metadata_key, seal, unseal
from tests.conftest import TEST_SECRET_KEY

KEY = metadata_key(TEST_SECRET_KEY)
LINK = SealedFor.LINK_WIZARD


def _signed(body: str, key: bytes = KEY, purpose: str = LINK) -> str:
    signed = f"{len(purpose)}:{purpose}:{body}"
    return f"{body}.{hmac.new(key, signed.encode(), hashlib.sha256).hexdigest()[:32]}"


def test_a_sealed_payload_comes_back_unchanged():
    payload = {"p": {"company": 12, "service": 7}, "h": "Acme Co · “quotes”", "f": ""}

    sealed = seal(payload, key=KEY, purpose=LINK)

    assert unseal(sealed, key=KEY, purpose=LINK) == payload
    assert len(sealed) <= MAX_LENGTH and "Acme" not in sealed  # opaque to the eye, not secret


@pytest.mark.parametrize("alter", [
    lambda s: s.replace(s[3], "A" if s[3] != "A" else "B", 1),  # a character of the body
    lambda s: s[:-1] + ("0" if s[-1] != "0" else "1"),  # the last character of the signature
    lambda s: s.rpartition(".")[0],  # the signature dropped
    lambda s: s.rpartition(".")[0] + ".",  # an empty signature
    lambda s: "." + s.rpartition(".")[2],  # the body dropped
    lambda s: "",
])
def test_any_alteration_is_refused(alter):
    sealed = seal({"p": {"company": 12}}, key=KEY, purpose=LINK)

    with pytest.raises(TamperedMetadata):
        unseal(alter(sealed), key=KEY, purpose=LINK)


def test_a_value_someone_rewrote_with_their_own_ids_is_refused():
    sealed = seal({"l": 3}, key=KEY, purpose=SealedFor.UNLINK_CONFIRM)
    forged_body = base64.urlsafe_b64encode(json.dumps({"l": 4}).encode()).decode()

    with pytest.raises(TamperedMetadata):
        unseal(forged_body + "." + sealed.rpartition(".")[2], key=KEY, purpose=SealedFor.UNLINK_CONFIRM)


def test_another_secret_key_cannot_read_or_write_it():
    other = metadata_key("another-secret-key-0123456789-abcdefghijklm")
    assert other != KEY

    with pytest.raises(TamperedMetadata):
        unseal(seal({"p": {}}, key=other, purpose=LINK), key=KEY, purpose=LINK)


def test_none_and_garbage_are_refused():
    for value in (None, "no-dot-at-all", "....", "payload=%7B%7D"):
        with pytest.raises(TamperedMetadata):
            unseal(value, key=KEY, purpose=LINK)


@pytest.mark.parametrize("body", [
    base64.urlsafe_b64encode(b"[1, 2]").decode(),  # JSON, but not an object
    base64.urlsafe_b64encode(b"not json").decode(),
    "!!!not-base64!!!",
])
def test_correctly_signed_but_unusable_bodies_are_refused(body):
    with pytest.raises(TamperedMetadata):
        unseal(_signed(body), key=KEY, purpose=LINK)


def test_a_payload_over_slacks_limit_is_refused_when_sealing():
    with pytest.raises(ValueError, match="3000"):
        seal({"rows": list(range(2000))}, key=KEY, purpose=LINK)


@pytest.mark.parametrize("sealed_for", list(SealedFor))
def test_a_value_sealed_for_one_dialog_is_refused_by_every_other(sealed_for):
    """The purpose is in the MAC: the same payload, genuinely sealed, opens only where it was sealed for."""
    sealed = seal({"id": 7, "dm": "D1", "opened_by": "U1"}, key=KEY, purpose=sealed_for)

    assert unseal(sealed, key=KEY, purpose=sealed_for)["id"] == 7
    for other in set(SealedFor) - {sealed_for}:
        with pytest.raises(TamperedMetadata):
            unseal(sealed, key=KEY, purpose=other)


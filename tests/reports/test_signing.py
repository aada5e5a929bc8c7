from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from bot.reports import signing
from bot.reports.signing import (
    ExpiredLinkError,
    TamperedLinkError,
    UnsignedLinkError,
    report_link_key,
    sign_url,
    verify,
)

KEY = report_link_key("test-secret-key-0123456789-abcdefghijklmnop")
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def signed(path="/reports/adjustments.csv", params=None, now=NOW, ttl=signing.DEFAULT_TTL):
    url = urlsplit(sign_url(path, params or {"company": "Acme", "sort": "posted_at"}, key=KEY, now=now, ttl=ttl))
    return url.path, parse_qsl(url.query)


def replace(pairs, name, value):
    return [(k, value if k == name else v) for k, v in pairs]


def test_a_signed_link_verifies_and_returns_its_own_parameters():
    path, query = signed()
    assert sorted(verify(path, query, key=KEY, now=NOW)) == [("company", "Acme"), ("sort", "posted_at")]
    assert dict(query)["expires"] == str(int((NOW + timedelta(days=7)).timestamp()))


def test_parameter_order_does_not_matter():
    path, query = signed()
    assert verify(path, list(reversed(query)), key=KEY, now=NOW)


@pytest.mark.parametrize("tamper", [
    pytest.param(lambda p, q: ("/reports/failures.csv", q), id="path"),
    pytest.param(lambda p, q: (p, replace(q, "company", "Other")), id="query-value"),
    pytest.param(lambda p, q: (p, [*q, ("status", "posted")]), id="query-added"),
    pytest.param(lambda p, q: (p, [x for x in q if x[0] != "company"]), id="query-removed"),
    pytest.param(lambda p, q: (p, replace(q, "expires", str(int(dict(q)["expires"]) + 86400))), id="expiry"),
    pytest.param(lambda p, q: (p, replace(q, "expires", "soon")), id="expiry-garbage"),
    pytest.param(lambda p, q: (p, replace(q, "signature", "0" * 64)), id="signature"),
])
def test_a_tampered_link_is_refused(tamper):
    path, query = tamper(*signed())
    with pytest.raises(TamperedLinkError, match="altered"):
        verify(path, query, key=KEY, now=NOW)


def test_a_link_signed_with_another_key_is_tampered():
    path, query = signed()
    with pytest.raises(TamperedLinkError):
        verify(path, query, key=report_link_key("another-secret-key-0123456789-abcdefgh"), now=NOW)


def test_an_expired_link_is_refused():
    path, query = signed(ttl=timedelta(minutes=5))
    assert verify(path, query, key=KEY, now=NOW + timedelta(minutes=5))
    with pytest.raises(ExpiredLinkError, match="expired"):
        verify(path, query, key=KEY, now=NOW + timedelta(minutes=5, seconds=1))


@pytest.mark.parametrize("drop", [{"signature"}, {"expires"}, {"signature", "expires"}])
def test_an_unsigned_link_is_refused(drop):
    path, query = signed()
    with pytest.raises(UnsignedLinkError, match="not signed"):
        verify(path, [x for x in query if x[0] not in drop], key=KEY, now=NOW)


def test_signatures_are_compared_in_constant_time(monkeypatch):
    calls = []
    real = signing.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", spy)
    path, query = signed()
    verify(path, query, key=KEY, now=NOW)
    assert len(calls) == 1


def test_the_key_is_derived_for_report_links_only():
    from bot.keys import derive_key

    secret = "test-secret-key-0123456789-abcdefghijklmnop"
    assert report_link_key(secret) == derive_key(secret, "report-links") != derive_key(secret, "stored-secrets")

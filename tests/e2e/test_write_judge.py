"""The judge of the end-to-end harnesses finds what it must: a repeated intent, a write nobody asked for (a stale
target, posted after the count moved back), a write it cannot explain, a lost change, and records that disagree
with the PSA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.write_judge import CountSet, Lifetime, PostedIntent, Write, judge

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
LINE = (1001, 100025)
SERVICE = 5002


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def counts(*changes: tuple[float, int]) -> list[CountSet]:
    return [CountSet(at=at(s), line=LINE, total=total, status="active") for s, total in changes]


def write(seconds: float, before: int, after: int, key: str | None = "k1") -> Write:
    return Write(service_id=SERVICE, before=before, after=after, at=at(seconds), key=key)


def verdict(writes, history, lifetimes, *, psa="connectwise", posted=None):
    return judge(psa=psa, writes=writes, history=history, service_lines={SERVICE: LINE},
                 initial_units={SERVICE: 26}, lifetimes=lifetimes, posted=posted)


def test_a_clean_run_is_clean():
    result = verdict([write(3, 26, 29)], counts((0, 26), (2, 29)), [Lifetime(at(1), None)],
                     posted=[PostedIntent("k1", SERVICE, 26, 29)])
    assert result.clean and result.figures()["writes"] == 1


def test_the_stale_target_of_issue_12_is_a_duplicate():
    """29 planned by the process killed at 5 s; the count went back to 26 at 6 s; the process started at 7 s posts
    29 anyway at 8 s, and levels back at 9 s."""
    history = counts((0, 26), (2, 29), (6, 26))
    lives = [Lifetime(at(1), at(5)), Lifetime(at(7), None)]
    result = verdict([write(8, 26, 29), write(9, 29, 26, key="k2")], history, lives)
    assert len(result.never_asked_for) == 1 and "26->29" in result.never_asked_for[0]
    assert not result.repeated_intent and not result.lost


def test_a_write_landing_just_after_its_process_died_is_judged_in_that_process_s_window():
    history = counts((0, 26), (2, 29), (5.2, 26))
    lives = [Lifetime(at(1), at(5)), Lifetime(at(5.1), None)]
    result = verdict([write(5.5, 26, 29), write(6, 29, 26, key="k2")], history, lives)
    assert result.never_asked_for == []


def test_the_same_key_applied_twice_is_a_duplicate():
    history = counts((0, 26), (2, 29), (4, 26))
    result = verdict([write(3, 26, 29), write(5, 29, 26, key="k2"), write(6, 26, 29)], history,
                     [Lifetime(at(1), None)])
    assert len(result.repeated_intent) == 1 and result.lost  # and the service ends at 29, the count at 26


def test_writes_it_cannot_explain():
    history = counts((0, 26), (2, 29))
    writes = [write(3, 20, 29),  # the service had 26: someone else wrote it
              write(4, 29, 30, key=None),  # no key on ConnectWise
              Write(service_id=999, before=1, after=2, at=at(5), key="k9")]  # not linked
    result = verdict(writes, history, [Lifetime(at(1), None)])
    assert len(result.unexplained) == 3
    late = verdict([write(30, 26, 29)], history, [Lifetime(at(1), at(10))])
    assert late.unexplained == [late.unexplained[0]] and "no SeatSync process" in late.unexplained[0]


def test_unkeyed_autotask_writes_are_counted_not_refused():
    result = verdict([write(3, 26, 29, key=None)], counts((0, 26), (2, 29)), [Lifetime(at(1), None)], psa="autotask",
                     posted=[PostedIntent("k1", SERVICE, 26, 29)])
    assert result.clean and result.unkeyed == 1


def test_a_lost_change_and_records_that_disagree():
    history = counts((0, 26), (2, 29), (4, 31))
    result = verdict([write(3, 26, 29)], history, [Lifetime(at(1), None)],
                     posted=[PostedIntent("k1", SERVICE, 26, 30), PostedIntent("k7", SERVICE, 29, 31)])
    assert result.lost == ["service 5002 ends at 29, the marketplace at 31"]
    assert len(result.records) == 2  # 26->29 recorded as 26->30; a change recorded as posted that no write made


def test_a_bundle_is_judged_apart_from_the_service_of_the_same_number():
    """Autotask numbers contract services and service bundles apart: bundle 5002 is not service 5002. A bundle line's
    write repeated under its key is a duplicate of that bundle; the service's own write stays clean."""
    bundle_line, bundle = (1001, 100031), f"bundle:{SERVICE}"
    history = counts((0, 26), (2, 29)) + [CountSet(at=at(s), line=bundle_line, total=total, status="active")
                                          for s, total in ((0, 4), (2, 6))]

    def bundle_write(seconds: float, before: int, after: int, key: str) -> Write:
        return Write(service_id=SERVICE, before=before, after=after, at=at(seconds), key=key, kind="bundle")

    writes = [write(3, 26, 29), bundle_write(4, 4, 6, "b1"), bundle_write(5, 6, 8, "b1")]
    result = judge(psa="autotask", writes=writes, history=history, service_lines={SERVICE: LINE, bundle: bundle_line},
                   initial_units={SERVICE: 26, bundle: 4}, lifetimes=[Lifetime(at(1), None)],
                   posted=[PostedIntent("k1", SERVICE, 26, 29), PostedIntent("b1", bundle, 4, 6)])
    assert [problem.split(" ")[1] for problem in result.repeated_intent + result.never_asked_for] == [bundle] * 2
    assert result.lost == [f"service {bundle} ends at 8, the marketplace at 6"] and not result.unexplained
    assert (result.writes, result.bundle_writes) == (3, 2)

"""Unit tests of ``pytest_latency_sla.limits``: what a timeout around the test leaves."""

from __future__ import annotations

import pytest

from pytest_latency_sla.limits import Cut, Deadline, deadline, fit
from pytest_latency_sla.loadspec import LoadSpec
from pytest_latency_sla.plan import SamplingPlan

S = 1_000_000_000


@pytest.mark.parametrize(
    ("marker", "option", "env", "ini", "expected"),
    [
        (None, None, None, "", None),  # pytest-timeout installed, no timeout set
        (None, 5.0, "30", "60", 5.0),  # --timeout over the environment and the ini
        (None, None, "30", "60", 30.0),  # PYTEST_TIMEOUT over the ini
        (None, None, "", "60", 60.0),
        (2, 5.0, None, "", 2.0),  # the test's marker over everything
        (None, 0.0, None, "", None),  # 0: no timeout
        ("soon", None, None, "", None),  # a value pytest-timeout would refuse
    ],
)
def test_the_deadline_is_read_as_pytest_timeout_reads_it(
    marker: object, option: object, env: str | None, ini: object, expected: float | None
) -> None:
    found = deadline(7 * S, marker=marker, option=option, env=env, ini=ini)
    if expected is None:
        assert found is None
    else:
        assert found == Deadline(7 * S + int(expected * S), expected, found.name if found else "")
        assert found.name == f"pytest-timeout's {expected:g} s timeout"


def test_a_plan_that_ends_in_time_is_left_as_it_is() -> None:
    plan = SamplingPlan()  # 20 s, up to 60 s toward a projected verdict
    far = Deadline(at_ns=600 * S, timeout_s=600.0, name="pytest-timeout's 600 s timeout")
    fitted = fit(plan, None, deadline=far, now_ns=0)
    assert (fitted.plan, fitted.problem) == (plan, None)
    # Not cut, but named, for a remedy asking for more time than it gives.
    assert fitted.cut_by == Cut("pytest-timeout's 600 s timeout", cut=False, timeout_s=600.0)
    assert fit(plan, None, now_ns=0).cut_by is None


def test_a_plan_is_cut_to_end_before_the_deadline_with_room_for_warmup() -> None:
    near = Deadline(at_ns=10 * S, timeout_s=10.0, name="pytest-timeout's 10 s timeout")
    fitted = fit(SamplingPlan(), None, deadline=near, now_ns=1 * S)
    # 9 s left, less 1 s for the rest of the test, less a quarter for warmup: 6.4 s.
    assert fitted.plan.max_time_ns == fitted.plan.limit_ns == int(8 * S / 1.25)
    assert fitted.plan.max_time_ns * 1.25 + 1 * S <= 9 * S
    assert fitted.cut_by is not None
    assert fitted.cut_by.name == "pytest-timeout's 10 s timeout"
    assert fitted.problem is None


def test_a_deadline_that_cuts_only_the_time_limit_is_not_named() -> None:
    # 60 s leave 52 s: max_time (20 s) is whole, only sampling past it toward a
    # projected verdict is shortened. A stop at max_time is max_time's, not the timeout's.
    far = Deadline(at_ns=60 * S, timeout_s=60.0, name="pytest-timeout's 60 s timeout")
    fitted = fit(SamplingPlan(), None, deadline=far, now_ns=0)
    assert fitted.plan.max_time_ns == 20 * S
    # 54 s left after the tenth kept for the rest of the test; 2 s of it for the warmup.
    assert fitted.plan.limit_ns == (60 - 6 - 2) * S
    assert fitted.cut_by is not None
    assert not fitted.cut_by.cut  # named for a remedy, never as what cut max_time


def test_a_capacity_search_gets_a_share_of_the_time_left() -> None:
    near = Deadline(at_ns=31 * S, timeout_s=31.0, name="t")
    load = LoadSpec(rps=100.0, capacity=True)
    fitted = fit(SamplingPlan(load_time_ns=5 * S), load, deadline=near, now_ns=0)
    assert fitted.load is not None
    # 31 s less 3.1 s: a third to the search, less the 4 s its last step may run over;
    # the rest (with warmup) to the load run.
    assert fitted.load.capacity_time_ns == int((31 - 3.1) * S) // 3 - 4_000_000_000
    assert fitted.plan.max_time_ns < 20 * S
    assert fitted.problem is None


def test_too_little_time_for_any_verdict_says_what_to_raise() -> None:
    near = Deadline(at_ns=3 * S, timeout_s=3.0, name="pytest-timeout's 3 s timeout")
    fitted = fit(SamplingPlan(load_time_ns=5 * S), LoadSpec(rps=100.0), deadline=near, now_ns=0)
    assert fitted.problem == (
        "pytest-timeout's 3 s timeout leaves about 1.80 s for this measurement after its "
        "warmup, less than the 5.00 s it needs at least (sla_min_time, or sla_load_time "
        "under load): raise the timeout (e.g. --timeout=28, or @pytest.mark.timeout(28))"
    )


@pytest.mark.parametrize("warmups", [1, 2])
@pytest.mark.parametrize(
    ("max_time_s", "warmup_s"), [(20, 0), (20, 5), (20, 30), (20, 120), (2, 1), (5, 10)]
)
def test_the_timeout_advised_fits_the_warmup_the_user_asked_for(
    max_time_s: int, warmup_s: int, warmups: int
) -> None:
    # A review: with sla_warmup_time = 30 the advised timeout left no more time after the
    # warmup than the one it replaced; a second review: nor two models' warmups, side by
    # side.
    plan = SamplingPlan(warmup_time_ns=warmup_s * S, max_time_ns=max_time_s * S)
    near = Deadline(at_ns=S // 100, timeout_s=0.01, name="pytest-timeout's timeout")
    problem = fit(plan, None, deadline=near, now_ns=0, warmups=warmups).problem
    assert problem is not None
    wanted = int(problem.rsplit("--timeout=", 1)[1].split(",")[0])
    advised = Deadline(at_ns=wanted * S, timeout_s=float(wanted), name="advised")
    fitted = fit(plan, None, deadline=advised, now_ns=0, warmups=warmups)
    assert fitted.problem is None
    assert fitted.plan.max_time_ns == plan.max_time_ns


def test_too_little_time_for_a_comparison_says_what_it_needs_the_time_for() -> None:
    # A trial: "less than the 2.00 s it needs at least (sla_min_time, ...)", where
    # sla_min_time was 30 ms and the 2 s were the comparison's.
    from pytest_latency_sla.limits import SPANNING, spanning_a_state

    near = Deadline(at_ns=3 * S, timeout_s=3.0, name="pytest-timeout's 3 s timeout")
    plan = spanning_a_state(SamplingPlan())
    fitted = fit(plan, None, deadline=near, now_ns=0, warmups=2, least=SPANNING)
    assert fitted.problem is not None
    assert (
        "less than the 2.00 s it needs at least (as a comparison, its samples span a state "
        "of the machine): raise the timeout"
    ) in fitted.problem
    load = fit(plan, LoadSpec(rps=100.0), deadline=near, now_ns=0, least=SPANNING).problem
    assert load is not None
    assert "(sla_min_time, or sla_load_time under load)" in load  # the load's 5 s


# --- what follows a measurement shares the timeout -----------------------------------


def test_what_follows_a_measurement_is_counted_and_named() -> None:
    from pytest_latency_sla.followups import After

    after = After(revision=True, sizes=2, cold=True, advise=True)
    assert after.phases == 6
    assert after.words() == (
        "the base revision's model, 2 more sizes of sweep=, the cold starts of cold_ms= "
        "and the advisor"
    )
    assert after.without("revision").phases == 5
    assert "1 more size of sweep=, " in after.without("size").words()
    assert After(advise=True).words() == "the advisor"
    assert (After().phases, After().words()) == (1, "")


def test_a_measurement_gets_its_part_of_the_timeout_and_says_what_follows() -> None:
    near = Deadline(at_ns=31 * S, timeout_s=31.0, name="pytest-timeout's 31 s timeout")
    alone = fit(SamplingPlan(), None, deadline=near, now_ns=1 * S)
    shared = fit(SamplingPlan(), None, deadline=near, now_ns=1 * S, phases=3, follows="x and y")
    # 30 s left, less 3.1 s for the rest of the test: all of it alone, a third shared.
    assert alone.plan.max_time_ns == 20 * S
    assert shared.plan.max_time_ns == pytest.approx((30 - 3.1) * S / 3 / 1.25, abs=2)
    assert shared.cut_by is not None
    assert (shared.cut_by.phases, shared.cut_by.follows) == (3, "x and y")


def test_too_little_time_for_a_shared_part_names_what_shares_it() -> None:
    near = Deadline(at_ns=2 * S, timeout_s=2.0, name="pytest-timeout's 2 s timeout")
    # 2 s less 0.5 s kept, in 60 parts: 25 ms each, with warmup; sampling needs 30 ms.
    fitted = fit(SamplingPlan(), None, deadline=near, now_ns=0, phases=60, follows="the advisor")
    assert fitted.problem == (
        "pytest-timeout's 2 s timeout leaves nothing for this measurement (shared with "
        "the advisor) after its warmup, less than the 30.0 ms it needs at least (sla_min_time, or "
        "sla_load_time under load): raise the timeout (e.g. --timeout=1667, or "
        "@pytest.mark.timeout(1667))"
    )


def test_a_timeout_suggested_for_shared_parts_holds_them_all() -> None:
    from pytest_latency_sla.limits import timeout_for

    one = timeout_for(10.0)
    assert timeout_for(10.0, phases=3) == pytest.approx(3 * 12.5 / 0.9)
    assert one == pytest.approx(12.5 / 0.9)


def test_until_is_the_end_of_a_part_of_what_is_left() -> None:
    from pytest_latency_sla.limits import until

    assert until(None, 0) is None
    near = Deadline(at_ns=11 * S, timeout_s=11.0, name="t")
    # 10 s left less 1.1 s kept, halved.
    assert until(near, 1 * S, 2) == (1 * S + int(8.9 * S) // 2, "t")


def test_what_cut_the_time_limit_is_named_for_the_remedy() -> None:
    # A review: a run stopped at a time limit a timeout had cut (43.2 s of 60 s) was told
    # to raise time_limit=, which the timeout would cut the same.
    far = Deadline(at_ns=60 * S, timeout_s=60.0, name="pytest-timeout's 60 s timeout")
    fitted = fit(SamplingPlan(), None, deadline=far, now_ns=0)
    assert fitted.cut_by is not None
    assert fitted.cut_by.limit_by == "pytest-timeout's 60 s timeout"
    spent = fit(SamplingPlan(), None, run_time_left_ns=30 * S, now_ns=0)
    assert spent.plan.limit_ns == 30 * S
    assert spent.cut_by is not None
    assert spent.cut_by.limit_by.startswith("sla_run_time")
    assert fit(SamplingPlan(), None, now_ns=0).cut_by is None


def test_a_window_the_user_chose_short_settles_even_when_a_timeout_trims_it() -> None:
    # A review: max_time=3 trimmed to 2.4 s by a 4 s timeout is still the short window the
    # user chose; the default 20 s cut to 2.4 s is the timeout's, and settles nothing.
    near = Deadline(at_ns=4 * S, timeout_s=4.0, name="pytest-timeout's 4 s timeout")
    chosen = fit(SamplingPlan(max_time_ns=3 * S), None, deadline=near, now_ns=0)
    assert chosen.plan.max_time_ns < 3 * S
    assert chosen.plan.cap_settles
    default = fit(SamplingPlan(), None, deadline=near, now_ns=0)
    assert not default.plan.cap_settles


def test_a_timeout_keeps_for_the_warmup_what_it_takes_not_a_quarter_of_everything() -> None:
    # A trial: under --timeout=30 a 40 ms model's sampling was cut at 21.4 s (a quarter of
    # what was left kept for a warmup that stops after 1 s) when it needed 23 s.
    near = Deadline(at_ns=30 * S, timeout_s=30.0, name="pytest-timeout's 30 s timeout")
    fitted = fit(SamplingPlan(), None, deadline=near, now_ns=0)
    assert fitted.plan.limit_ns == (30 - 3 - 2) * S
    # A short timeout keeps its fifth: 4 s leave 3 s, 0.6 s of it for the warmup.
    short = Deadline(at_ns=4 * S, timeout_s=4.0, name="pytest-timeout's 4 s timeout")
    assert fit(SamplingPlan(), None, deadline=short, now_ns=0).plan.limit_ns == int(2.4 * S)

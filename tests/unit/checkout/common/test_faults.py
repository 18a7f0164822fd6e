from __future__ import annotations

from checkout.common.faults import FaultInjector, FaultSettings


class Sleeps:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


async def test_no_faults_are_injected_by_default() -> None:
    injector = FaultInjector(random_source=lambda: 0.0)
    assert await injector.before_action() is False
    assert injector.after_action() is False
    assert set(injector.report()["injected"].values()) == {0}


async def test_latency_delays_every_request_before_anything_else() -> None:
    sleeps = Sleeps()
    injector = FaultInjector(random_source=lambda: 0.0, sleep=sleeps)
    injector.configure(FaultSettings(latency_ms=250, error_rate=1.0))
    assert await injector.before_action() is True
    assert sleeps.seconds == [0.25]
    assert injector.injected["latency"] == injector.injected["error"] == 1


async def test_timeout_hangs_for_hang_seconds_then_lets_the_request_act() -> None:
    sleeps = Sleeps()
    injector = FaultInjector(random_source=lambda: 0.5, sleep=sleeps)
    injector.configure(FaultSettings(timeout_rate=0.6, hang_seconds=7))
    assert await injector.before_action() is False
    assert sleeps.seconds == [7]

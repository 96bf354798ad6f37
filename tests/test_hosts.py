import asyncio
import itertools
import time

from monitor.feeds.hosts import HostLimiter


def test_at_most_n_per_host_with_a_delay_between_starts() -> None:
    limiter = HostLimiter(per_host=2, delay=0.05)
    running: dict[str, int] = {"a.example": 0, "b.example": 0}
    peak: dict[str, int] = {"a.example": 0, "b.example": 0}
    starts: list[float] = []

    async def request(host: str) -> None:
        async with limiter.slot(f"https://{host}/x"):
            if host == "a.example":
                starts.append(time.monotonic())
            running[host] += 1
            peak[host] = max(peak[host], running[host])
            await asyncio.sleep(0.2)
            running[host] -= 1

    async def go() -> None:
        await asyncio.gather(
            *(request("a.example") for _ in range(10)), *(request("b.example") for _ in range(4))
        )

    asyncio.run(go())
    assert peak == {"a.example": 2, "b.example": 2}
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.045  # 200 feeds on one outlet never hammer it

"""The alert storm of bench/storm.py at a tenth of the acceptance size: 100,000 samples over
2,000 label sets in 20 groups across 5 tenants, through the real HTTP path, fold into exactly
20 incidents of 100 alerts each — with one correlate, with two correlate shards, and on
PostgreSQL. (bench/storm.py runs the full 1,000,000-sample storm and prints its figures.)"""

import os
import sys

import lookout

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import storm  # noqa: E402  (bench/storm.py)

SHAPE = dict(samples=100_000, sets=2_000, groups=20, tenants=5, batch=1000, clients=4)


class StormTenantsTest(lookout.LookoutTestCase):

    def storm(self, **kw):
        figures = storm.run(owner=self.id(), quiet=True, **dict(SHAPE, **kw))
        print("\nstorm %s: %.2f s, %d samples/s, peak RSS sum %.1f MiB %s" % (
            kw or "sqlite", figures["elapsed_s"], figures["samples_per_s"],
            figures["peak_rss_sum_mib"], figures["peak_rss_mib"]))
        self.assertEqual(figures["problems"], [])
        self.assertEqual(figures["outcomes"], {"new": SHAPE["sets"],
                                               "unchanged": SHAPE["samples"] - SHAPE["sets"]})
        # the harness's readiness probe adds one incident and one alert of its own tenant
        self.assertEqual(figures["incidents"], SHAPE["groups"] + 1)
        self.assertEqual(figures["alert_rows"], SHAPE["sets"] + 1)

    def test_storm_sqlite(self):
        self.storm()

    def test_storm_two_shards(self):
        self.storm(shards=2)

    def test_storm_postgresql(self):
        self.require_pg()
        self.storm(backend="postgresql")


if __name__ == "__main__":
    lookout.main()

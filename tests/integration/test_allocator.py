"""The daemons allocate through mimalloc when the build links it (LOOKOUT_MIMALLOC, the
default outside sanitizer builds): linked before libc, its malloc replaces glibc's for the
program and every library it loads. Checked on running programs, not on the link line: each
maps libmimalloc, and after taking alerts reports mimalloc heap statistics at exit
(MIMALLOC_SHOW_STATS) with segments allocated, which only allocations made through it
create."""

import os
import re

import lookout
from lookout import new_tenant


class AllocatorTest(lookout.LookoutTestCase):

    def setUp(self):
        # CMake's own decision (LOOKOUT_DAEMONS_MIMALLOC, an internal cache entry)
        if lookout.build_setting("LOOKOUT_DAEMONS_MIMALLOC") != "ON":
            self.skipTest("this build does not link mimalloc (LOOKOUT_MIMALLOC=OFF or a "
                          "sanitizer build, which keeps the sanitizer's allocator)")

    def test_daemons_allocate_through_mimalloc(self):
        lk = self.start_lookout(env={"MIMALLOC_SHOW_STATS": "1"})
        for name in lookout.PROGRAMS:
            with open("/proc/%d/maps" % lk.procs[name].pid, encoding="utf-8") as f:
                self.assertIn("libmimalloc", f.read(), "%s does not map libmimalloc" % name)

        tenant = new_tenant()
        alerts = [{"name": "AllocatorCheck", "labels": {"instance": "edge-%d" % i},
                   "severity": "warning"} for i in range(64)]
        answer = lk.post_alerts(alerts, tenant=tenant)
        self.assertStatus(answer, 202, "64 new alerts")
        self.assertEqual(answer.json["accepted"], 64)
        self.assertEqual(len(lk.incidents(tenant)), 1)

        lk.stop()
        self.assertEqual(lk.unclean_exits, [])
        for name in lookout.PROGRAMS:
            with open(os.path.join(lk.log_dir, name + ".log"), encoding="utf-8",
                      errors="replace") as f:
                log = f.read()
            self.assertIn("heap stats:", log, "%s printed no mimalloc statistics" % name)
            segments = re.search(r"^\s*segments:\s+(\d+)\s+(\d+)", log, re.M)
            self.assertIsNotNone(segments, "%s: no segments line in mimalloc's statistics" %
                                 name)
            self.assertGreater(int(segments.group(2)), 0,
                               "%s allocated no mimalloc segment" % name)


if __name__ == "__main__":
    lookout.main()

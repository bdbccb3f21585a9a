"""The source conventions of docs/sources.md hold: every JSON example on that page is a valid
POST /alerts body, lands as documented (source, labels, one incident per alert name and
tenant), is idempotent when re-sent, and resolves with the same labels."""

import json
import os
import re

import lookout
from lookout import new_tenant

DOC = os.path.join(lookout.SOURCE_DIR, "docs", "sources.md")


def doc_examples():
    """The ```json blocks of docs/sources.md, parsed."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", text, re.S)]


class SourcesTest(lookout.LookoutTestCase):

    def test_documented_examples(self):
        examples = doc_examples()
        self.assertGreaterEqual(len(examples), 4, "docs/sources.md lost its examples")
        sources = {example["source"] for example in examples}
        self.assertEqual(sources, {"periscope", "purser"})
        lk = self.start_lookout()
        tenant = new_tenant()
        for example in examples:
            with self.subTest(example["name"]):
                answer = lk.post_alerts(example, tenant=tenant)
                self.assertStatus(answer, 202)
                result = answer.json["alerts"][0]
                self.assertEqual(result["outcome"], "new")
                detail = lk.incident(result["incident_id"], tenant)
                alert = [a for a in detail["alerts"]
                         if a["fingerprint"] == result["fingerprint"]][0]
                self.assertEqual(alert["source"], example["source"])
                self.assertEqual(alert["labels"], dict(example["labels"],
                                                       alertname=example["name"]))
                self.assertEqual(alert["severity"], example["severity"])
                self.assertEqual(detail["incident"]["group_labels"],
                                 {"alertname": example["name"]})
                # re-sent as the conventions ask: nothing changes
                again = lk.post_alerts(example, tenant=tenant)
                self.assertStatus(again, 202)
                self.assertEqual(again.json["alerts"][0]["outcome"], "unchanged")

        # a second stream with the same problem joins the same incident
        stream = [e for e in examples if e["name"] == "stream_unhealthy"][0]
        other = dict(stream, labels=dict(stream["labels"], stream_id="st_other"))
        answer = lk.post_alerts(other, tenant=tenant)
        self.assertStatus(answer, 202)
        first = lk.incidents(tenant, "label.alertname=stream_unhealthy")
        self.assertEqual(len(first), 1)
        self.assertEqual(first[0]["alert_count"], 2)

        # resolved with the same labels: the incident resolves once every alert did
        for example in examples + [other]:
            answer = lk.post_alerts(dict(example, status="resolved"), tenant=tenant)
            self.assertStatus(answer, 202)
            self.assertEqual(answer.json["alerts"][0]["outcome"], "changed")
        for incident in lk.incidents(tenant):
            self.assertEqual(incident["status"], "resolved", incident)


if __name__ == "__main__":
    lookout.main()

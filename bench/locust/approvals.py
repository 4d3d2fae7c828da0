"""Locust side of examples/locust-report/approvals.toml (scenario 2): random-UUID 404s are expected."""
import uuid

from locust import between, task

from common import LoggedIn


class CabApprover(LoggedIn):
    wait_time = between(1, 3)
    username = "cab_approver"

    @task(2)
    def pending(self):
        self.client.get("/api/v1/cab/pending/?limit=100", headers=self.headers, name="/api/v1/cab/pending/?limit=100")

    def decide(self, verb):
        url = f"/api/v1/cab/{uuid.uuid4()}/{verb}/"
        with self.client.post(url, json={"comment": "load test"}, headers=self.headers, name=f"/api/v1/cab/{{id}}/{verb}/", catch_response=True) as r:
            if r.status_code in (200, 404):
                r.success()

    @task
    def approve(self):
        self.decide("approve")

    @task
    def reject(self):
        self.decide("reject")

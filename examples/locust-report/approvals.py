"""P4.3 scenario 2: change-approval board (CAB).

50 users ramped at 5/s for 5 minutes. Approvers log in, list pending approvals, and approve or
reject random UUIDs, which 404 by design: those 404s count as success. Targets: list < 1 s,
>= 99 % success.
"""
import logging
import uuid

from locust import HttpUser, LoadTestShape, between, events, task


class CabApprover(HttpUser):
    host = "http://127.0.0.1:8080"
    wait_time = between(1, 3)

    def on_start(self):
        r = self.client.post("/api/v1/auth/login/", json={"username": "cab_approver", "password": "x"}, name="login")
        self.token = r.json()["access"]
        self.client.headers.update({"Authorization": f"Bearer {self.token}", "Accept": "application/json"})

    @task(2)
    def pending(self):
        self.client.get("/api/v1/cab/pending/?limit=100")

    @task
    def approve(self):
        with self.client.post(
            f"/api/v1/cab/{uuid.uuid4()}/approve/",
            json={"comment": "load test"},
            name="/api/v1/cab/{id}/approve/",
            catch_response=True,
        ) as r:
            if r.status_code in (200, 404):
                r.success()
            else:
                r.failure(f"unexpected {r.status_code}")

    @task
    def reject(self):
        with self.client.post(
            f"/api/v1/cab/{uuid.uuid4()}/reject/",
            json={"comment": "load test"},
            name="/api/v1/cab/{id}/reject/",
            catch_response=True,
        ) as r:
            if r.status_code in (200, 404):
                r.success()
            else:
                r.failure(f"unexpected {r.status_code}")


class Ramp(LoadTestShape):
    stages = [
        {"duration": 300, "users": 50, "spawn_rate": 5},
    ]

    def tick(self):
        run_time = self.get_run_time()
        for stage in self.stages:
            if run_time < stage["duration"]:
                return stage["users"], stage["spawn_rate"]
        return None


@events.quitting.add_listener
def check_targets(environment, **kw):
    if environment.stats.total.fail_ratio > 0.01:
        logging.error("more than 1% of requests failed")
        environment.process_exit_code = 1
    elif environment.stats.total.get_response_time_percentile(0.99) > 1000:
        logging.error("p99 above 1 s")
        environment.process_exit_code = 1

"""P4.3 scenario 4: the burst that Locust could not run from one machine.

1000 users ramped at 100/s, then 4 minutes at peak. Targets: >= 10,000 req/s, p99 < 1 s,
>= 98 % success.
"""
import logging
import random
import uuid

from locust import HttpUser, LoadTestShape, between, events, task


class HighLoadDeploymentUser(HttpUser):
    host = "http://127.0.0.1:8080"
    wait_time = between(0.02, 0.06)

    def on_start(self):
        r = self.client.post("/api/v1/auth/login/", json={"username": "loadtest_user", "password": "x"}, name="login")
        self.token = r.json()["access"]
        self.client.headers.update({"Authorization": f"Bearer {self.token}", "Accept": "application/json"})

    @task(4)
    def list_deployments(self):
        self.client.get("/api/v1/deployments/", name="list deployments")

    @task(4)
    def deployment_detail(self):
        self.client.get(f"/api/v1/deployments/{random.randint(1, 99999):05d}/", name="deployment detail")

    @task(1)
    def create_deployment(self):
        payload = {"app": "web", "version": f"2.{random.randint(0, 999)}", "request_id": str(uuid.uuid4())}
        self.client.post("/api/v1/deployments/", json=payload, name="create deployment")

    @task(1)
    def health(self):
        self.client.get("/api/v1/health/", name="health")


class Burst(LoadTestShape):
    stages = [
        {"duration": 10, "users": 1000, "spawn_rate": 100},
        {"duration": 250, "users": 1000, "spawn_rate": 100},
    ]

    def tick(self):
        run_time = self.get_run_time()
        for stage in self.stages:
            if run_time < stage["duration"]:
                return stage["users"], stage["spawn_rate"]
        return None


@events.quitting.add_listener
def check_targets(environment, **kw):
    if environment.stats.total.total_rps < 10000:
        logging.error("below 10,000 req/s")
        environment.process_exit_code = 1
    elif environment.stats.total.get_response_time_percentile(0.99) > 1000:
        logging.error("p99 above 1 s")
        environment.process_exit_code = 1
    elif environment.stats.total.fail_ratio > 0.02:
        logging.error("more than 2% of requests failed")
        environment.process_exit_code = 1

"""P4.3 scenario 1: concurrent deployments.

100 users ramped at 10/s for 5 minutes. Targets: 50-100 req/s, p50 < 200 ms, p99 < 500 ms,
>= 99 % success.
"""
import logging
import random
import secrets
import uuid

from locust import HttpUser, LoadTestShape, between, events, task


class DeploymentUser(HttpUser):
    host = "http://127.0.0.1:8080"
    wait_time = between(0.5, 1.5)

    def on_start(self):
        r = self.client.post(
            "/api/v1/auth/login/",
            json={"username": "loadtest_user", "password": secrets.token_hex(6)},
            name="login",
        )
        self.token = r.json()["access"]
        self.client.headers.update({"Authorization": f"Bearer {self.token}", "Accept": "application/json"})

    @task(3)
    def list_deployments(self):
        self.client.get("/api/v1/deployments/", name="list deployments")

    @task(2)
    def create_deployment(self):
        payload = {"app": "web", "version": f"1.{random.randint(0, 999)}", "request_id": str(uuid.uuid4())}
        self.client.post("/api/v1/deployments/", json=payload, name="create deployment")

    @task(2)
    def deployment_detail(self):
        self.client.get(f"/api/v1/deployments/{random.randint(1, 99999):05d}/", name="deployment detail")


class Ramp(LoadTestShape):
    stages = [
        {"duration": 300, "users": 100, "spawn_rate": 10},
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
    elif environment.stats.total.median_response_time > 200:
        logging.error("median above 200 ms")
        environment.process_exit_code = 1
    elif environment.stats.total.get_response_time_percentile(0.99) > 500:
        logging.error("p99 above 500 ms")
        environment.process_exit_code = 1
    elif environment.stats.total.total_rps < 50:
        logging.error("below 50 req/s")
        environment.process_exit_code = 1

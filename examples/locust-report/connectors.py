"""P4.3 scenario 3: connector publishing.

200 users ramped at 10/s for 5 minutes, publishing to the five planes. Targets: 150-200 req/s,
p50 < 200 ms, >= 99 % success.
"""
import itertools
import logging
import os
import random
import uuid

from locust import HttpUser, LoadTestShape, between, events, task

PLANES = ["intune", "jamf", "landscape", "sccm", "munki"]
EVENTS = itertools.count()


class PublisherUser(HttpUser):
    host = "http://127.0.0.1:8080"
    wait_time = between(0.5, 1.5)

    def on_start(self):
        r = self.client.post("/api/v1/auth/login/", json={"username": "publisher_user", "password": "x"}, name="login")
        self.token = r.json()["access"]
        self.client.headers.update({"Authorization": f"Bearer {self.token}", "Accept": "application/json"})

    @task
    def publish(self):
        plane = random.choice(PLANES)
        event = {"event_id": str(uuid.uuid4()), "seq": next(EVENTS), "payload": os.urandom(16).hex()}
        self.client.post(f"/api/v1/connectors/{plane}/publish/", json=event, name="/api/v1/connectors/{plane}/publish/")


class Ramp(LoadTestShape):
    stages = [
        {"duration": 300, "users": 200, "spawn_rate": 10},
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
    elif environment.stats.total.total_rps < 150:
        logging.error("below 150 req/s")
        environment.process_exit_code = 1

"""Locust side of examples/locust-report/connectors.toml (scenario 3): publish to five planes."""
import os
import random
import uuid

from locust import between, task

from common import LoggedIn

PLANES = [p.strip() for p in open(os.path.join(os.path.dirname(__file__), "..", "..", "examples", "locust-report", "planes.csv")).read().split()[1:]]


class PublisherUser(LoggedIn):
    wait_time = between(0.5, 1.5)
    username = "publisher_user"

    @task
    def publish(self):
        body = {"event_id": str(uuid.uuid4()), "seq": random.randint(0, 10**9), "payload": os.urandom(16).hex()}
        plane = random.choice(PLANES)
        self.client.post(f"/api/v1/connectors/{plane}/publish/", json=body, headers=self.headers, name="/api/v1/connectors/{plane}/publish/")

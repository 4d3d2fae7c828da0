"""Locust side of examples/locust-report/burst.toml (scenario 4, the one Locust could not run)."""
import random
import uuid

from locust import between, task

from common import LoggedIn


class HighLoadDeploymentUser(LoggedIn):
    wait_time = between(0.02, 0.06)

    @task(4)
    def list_deployments(self):
        self.client.get("/api/v1/deployments/", headers=self.headers, name="list deployments")

    @task(4)
    def deployment_detail(self):
        self.client.get(f"/api/v1/deployments/{random.randint(1, 99999):05d}/", headers=self.headers, name="deployment detail")

    @task
    def create_deployment(self):
        body = {"app": "web", "version": f"2.{random.randint(0, 999):03d}", "request_id": str(uuid.uuid4())}
        self.client.post("/api/v1/deployments/", json=body, headers=self.headers, name="create deployment")

    @task
    def health(self):
        self.client.get("/api/v1/health/", name="health")

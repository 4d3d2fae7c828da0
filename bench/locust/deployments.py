"""Locust side of examples/locust-report/deployments.toml (scenario 1 of the report)."""
import random
import uuid

from locust import between, task

from common import LoggedIn


class DeploymentUser(LoggedIn):
    wait_time = between(0.5, 1.5)

    @task(3)
    def list_deployments(self):
        self.client.get("/api/v1/deployments/", headers=self.headers, name="list deployments")

    @task(2)
    def create_deployment(self):
        body = {"app": "web", "version": f"1.{random.randint(0, 999):03d}", "request_id": str(uuid.uuid4())}
        self.client.post("/api/v1/deployments/", json=body, headers=self.headers, name="create deployment")

    @task(2)
    def deployment_detail(self):
        self.client.get(f"/api/v1/deployments/{random.randint(1, 99999):05d}/", headers=self.headers, name="deployment detail")

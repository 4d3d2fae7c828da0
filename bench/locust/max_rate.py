"""The highest rate Locust reaches on one core: users with no wait against the mock's health route."""
from locust import FastHttpUser, constant, task


class Hammer(FastHttpUser):
    wait_time = constant(0)

    @task
    def health(self):
        self.client.get("/api/v1/health/", name="health")

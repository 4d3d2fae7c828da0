"""The locustfile of scripts/bench.py django, run unchanged by Locust and by ringblast -f: a form
login with Django's CSRF token and session cookie, then the JSON API."""
import random

from locust import HttpUser, task


class Shopper(HttpUser):
    def on_start(self):
        self.client.get("/login/", name="login form")
        self.client.post(
            "/login/",
            data={"username": "demo", "password": "demo", "csrfmiddlewaretoken": self.client.cookies["csrftoken"]},
            name="login",
        )

    @task(3)
    def list_items(self):
        self.client.get("/api/items/", name="list")

    @task(3)
    def read_item(self):
        self.client.get(f"/api/items/{random.randint(1, 50)}/", name="read")

    @task(1)
    def create_item(self):
        self.client.post(
            "/api/items/",
            json={"name": "new"},
            headers={"X-CSRFToken": self.client.cookies["csrftoken"]},
            name="create",
        )

"""Shared by the locustfiles of scripts/bench.py locust: users log in once (on_start), keep the token."""
from locust import FastHttpUser


class LoggedIn(FastHttpUser):
    abstract = True
    username = "loadtest_user"

    def on_start(self):
        r = self.client.post("/api/v1/auth/login/", json={"username": self.username, "password": "x"}, name="login")
        self.headers = {"Authorization": f"Bearer {r.json()['access']}", "Accept": "application/json"}

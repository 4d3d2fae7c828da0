"""Locust side of scripts/bench.py users: users that GET / and wait 1 s between requests.

FastHttpUser (geventhttpclient) is Locust's fastest client; constant(1) matches `--think 1s`.
"""
from locust import FastHttpUser, constant, task


class ThinkUser(FastHttpUser):
    wait_time = constant(1)

    @task
    def index(self):
        self.client.get("/")

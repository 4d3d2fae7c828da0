# The plan of scripts/bench_locust_worker.py, for Locust's master and its own worker: users of
# class Browse with no think time, each GET /items/1 (ringblast's worker runs the same from its
# scenario's [[user]] Browse).
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser


class Browse(FastHttpUser):
    wait_time = constant(0)

    @task
    def item(self):
        self.client.get("/items/1", name="/items/1")

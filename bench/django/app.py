"""A small Django app for scripts/bench.py django: form login with a session cookie and CSRF,
then a JSON API that needs the session. Sessions are signed cookies, so it needs no database.
Run: gunicorn --chdir bench/django app:application
"""
import json
import uuid

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-only-not-secret",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
    ],
    INSTALLED_APPS=["django.contrib.sessions"],
    SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    DATABASES={},
    USE_TZ=True,
)

import django  # noqa: E402

django.setup()

from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.middleware.csrf import get_token  # noqa: E402
from django.urls import path  # noqa: E402

ITEMS = [{"id": i, "name": f"item {i}", "price": i * 3 % 97} for i in range(1, 51)]


def login(request):
    if request.method == "GET":
        return HttpResponse(f'<form method="post"><input name="csrfmiddlewaretoken" value="{get_token(request)}"></form>')
    if request.POST.get("password") != "demo":
        return HttpResponse("bad credentials", status=401)
    request.session["user"] = request.POST.get("username", "")
    return HttpResponse("ok")


def items(request):
    if "user" not in request.session:
        return JsonResponse({"error": "login first"}, status=403)
    if request.method == "POST":
        body = json.loads(request.body or b"{}")
        return JsonResponse({"id": str(uuid.uuid4()), "name": body.get("name", "")}, status=201)
    return JsonResponse({"items": ITEMS[:20]})


def item(request, pk):
    if "user" not in request.session:
        return JsonResponse({"error": "login first"}, status=403)
    if not 1 <= pk <= len(ITEMS):
        return JsonResponse({"error": "no such item"}, status=404)
    return JsonResponse(ITEMS[pk - 1])


urlpatterns = [
    path("login/", login),
    path("api/items/", items),
    path("api/items/<int:pk>/", item),
]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

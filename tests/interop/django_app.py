"""A Django REST framework app whose only authentication is the README's SIMPLE_JWT settings.

Usage: IDGATE_ISSUER=http://… python3 tests/interop/django_app.py TOKEN…
Asks its GET /hello/ once per token and prints {"status", "body"} as one JSON line each.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "downstream"))

import django
from django.conf import settings

import django_settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="interop-only-not-a-secret",
    ALLOWED_HOSTS=["testserver"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    REST_FRAMEWORK=django_settings.REST_FRAMEWORK,
    SIMPLE_JWT=django_settings.SIMPLE_JWT,
)
django.setup()

from django.test import Client  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.permissions import IsAuthenticated  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402


class Hello(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"user_id": request.user.id, "hello": "from Django"})


urlpatterns = [path("hello/", Hello.as_view())]

if __name__ == "__main__":
    client = Client()
    for token in sys.argv[1:]:
        reply = client.get("/hello/", HTTP_AUTHORIZATION=f"Bearer {token}")
        print(json.dumps({"status": reply.status_code, "body": json.loads(reply.content or b"{}")}))

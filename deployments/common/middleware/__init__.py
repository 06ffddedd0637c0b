"""ASGI middleware every ingress wears (installed by ``deployments.common.http_app.make_api``)."""

"""Django integration: a ``django.tasks`` backend (``ZizqBackend``) and the
``zizq_worker`` management command (add ``"zizq_client.contrib.django"``
to ``INSTALLED_APPS``).

``django.tasks`` is Django 6's; on Django 5.2 the ``django-tasks`` backport
provides the same API under ``django_tasks``; ``tasks_api`` picks one.
"""

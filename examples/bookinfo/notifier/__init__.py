"""The notifier: a Celery worker that handles the "review viewed" events reviews publishes."""

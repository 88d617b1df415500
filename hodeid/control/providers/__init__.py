"""Providers: what turns "a job needs a worker like this" into a worker that connects."""

# One image for both servers: gunicorn serves HTTP (`web`), daphne serves WebSockets (`ws`);
# docker-compose.yml picks the command. Configured only through the environment.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MEDIA_ROOT=/app/media PRIVATE_MEDIA_ROOT=/app/private-media
# A fixed unprivileged uid/gid (10001), not `nobody`: a volume for /app/media can be chowned to it
# on the host, and orchestrators that demand a numeric non-root user accept it.
RUN groupadd --system --gid 10001 mvoting \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/mvoting --create-home \
       --shell /usr/sbin/nologin mvoting
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir .
# .dockerignore keeps the developer's .venv, db.sqlite3 (the demo official), .git, .env and caches
# out of the context (tests/config/test_container.py).
COPY . .
# Production settings refuse to start without their keys; collectstatic needs none of them.
RUN DEBUG=false SECRET_KEY=build-only ALLOWED_HOSTS=build BALLOT_SEALING_PUBLIC_KEY=build-only \
    BOARD_VERIFY_KEY=build-only VOTER_KEY_SECRET=build-only MFA_ENCRYPTION_KEY=build-only \
    AUDIT_CHAIN_KEY=build-only \
    python manage.py collectstatic --noinput
# The code stays root's and read-only to the server; uploads (with MEDIA_STORAGE=filesystem) and
# temporary files are the only places it writes.
RUN install -d -o 10001 -g 10001 -m 0750 /app/media \
    && install -d -o 10001 -g 10001 -m 0700 /app/private-media \
    && chmod 1777 /tmp
USER 10001:10001
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3", "config.wsgi:application"]

# Kefu BPM production image. Build: docker build -t kefu-bpm .
# Run:   docker run -p 8000:8000 -e SECRET_KEY=... -e DATABASE_URL=postgresql+psycopg://... kefu-bpm
# Without DATABASE_URL the app uses SQLite at /app/instance/kefu.db (mount a volume there).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN useradd --system --create-home --home-dir /home/kefu --uid 10001 --user-group kefu

WORKDIR /app
# .dockerignore lets through only app/, bpmn/, forms/, migrations/, gunicorn.conf.py and the
# package metadata; copying the whole (filtered) context works even when bpmn/ or forms/ is empty.
COPY . .
RUN mkdir -p bpmn forms instance \
    && pip install . \
    && rm -rf build ./*.egg-info \
    && chown kefu:kefu instance

# The app finds migrations/, bpmn/ and forms/ beside its package (app/config.py PROJECT_ROOT),
# so it runs from /app rather than from the installed copy in site-packages.
ENV PYTHONPATH=/app \
    FLASK_APP=app:create_app \
    KEFU_ENV=production \
    PORT=8000 \
    WEB_CONCURRENCY=2

USER kefu
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${PORT}/api/v1/health', timeout=4)"

# Timers, reminders, escalations and the outbox need one worker: run this image a second time with
# the command `flask worker` (several workers, on several machines, may share one PostgreSQL).
# `flask setup` = `flask db upgrade` + `flask deploy` under a database-wide lock, so several web nodes
# starting at once on one PostgreSQL migrate once (README "Production on several machines").
CMD ["sh", "-c", "flask setup && exec gunicorn -c gunicorn.conf.py --bind \"0.0.0.0:${PORT}\" 'app:create_app()'"]

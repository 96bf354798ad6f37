# syntax=docker/dockerfile:1
# Build: the project and its pinned dependencies in a venv. The project is installed in
# editable mode from /app so that monitor finds its Alembic migrations at /app/migrations.
FROM python:3.11-slim AS build
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY constraints.txt pyproject.toml README.md ./
COPY monitor ./monitor
COPY migrations ./migrations
RUN /opt/venv/bin/pip install -c constraints.txt -e .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app monitor \
    && mkdir -p /data && chown monitor /data
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
COPY feeds.yaml ./feeds.yaml
COPY rules ./rules
ENV PATH=/opt/venv/bin:$PATH \
    MONITOR_DATABASE_URL=sqlite:////data/monitor.db \
    MONITOR_FEEDS=/app/feeds.yaml \
    MONITOR_RULES=/app/rules
USER 10001
VOLUME ["/data"]
EXPOSE 8080
STOPSIGNAL SIGTERM
# slim has no curl: the image's own Python asks /healthz (exit 1 on any error)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/readyz', timeout=4)"]
CMD ["monitor", "run", "--http", ":8080"]

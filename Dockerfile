# syntax=docker/dockerfile:1
# Build wheels in a full image, run from a slim one as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY formatters ./formatters
COPY digestbot ./digestbot
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 digestbot
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
ENV DIGESTBOT_DATA_DIR=/data \
    DIGESTBOT_CONFIG=/data/digestbot.toml \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080 \
    PYTHONUNBUFFERED=1
RUN mkdir -p /data && chown digestbot /data
VOLUME /data
USER digestbot
WORKDIR /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"
# digestbot serve finishes in-flight replies on SIGTERM.
STOPSIGNAL SIGTERM
ENTRYPOINT ["digestbot"]
CMD ["serve"]

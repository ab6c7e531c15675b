# The image of tradewind's kubernetes worker pods (and of a scheduler or webserver in a cluster).
# Build:  docker build -t tradewind:latest .
# Your DAG files must be in the image (COPY them to /opt/tradewind/dags below) or mounted into
# the pods at the same path the scheduler sees them (a pod template with a volume).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TRADEWIND_HOME=/opt/tradewind

WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install ".[postgres,mysql,kubernetes]" \
    && useradd --create-home --uid 50000 tradewind \
    && mkdir -p /opt/tradewind/dags \
    && chown -R tradewind /opt/tradewind

USER tradewind
WORKDIR /opt/tradewind
ENTRYPOINT ["tradewind"]
CMD ["--help"]

# One image for the gateway and every service; the compose file picks the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DATA_DIR=/data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY services ./services
COPY gateway ./gateway
COPY wechat_standin ./wechat_standin
COPY console ./console
RUN pip install --no-cache-dir . && useradd --system --uid 10001 app && mkdir -p /data && chown app /data
USER app
EXPOSE 8000

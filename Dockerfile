# One image for every Python process of the exchange; docker-compose.yml picks
# the command (gunicorn for the API, python -m ... for the workers).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN useradd --system --home-dir /app --no-create-home exchange
USER exchange

EXPOSE 8000
CMD ["gunicorn", "--config", "orderbook/gunicorn_conf.py", "--bind", "0.0.0.0:8000", "--no-control-socket", "orderbook.app:create_app()"]

# One image for every Python process of the exchange; docker-compose.yml picks
# the command (python -m orderbook.serve for the API, python -m ... for the workers).
# The page's npm libraries (lightweight-charts, socket.io-client), installed
# from the lock file in a node stage; only node_modules is copied over.
FROM node:20-slim AS web-assets
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt .
COPY clients/python clients/python
RUN pip install -r requirements.txt

COPY . .
COPY --from=web-assets /web/node_modules web/node_modules
RUN useradd --system --home-dir /app --no-create-home exchange
USER exchange

EXPOSE 8000
CMD ["python", "-m", "orderbook.serve", "--host", "0.0.0.0", "--port", "8000"]

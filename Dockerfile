# syntax=docker/dockerfile:1
# The orchestrator and its nats-server in one image. Build: docker build -t orch .
# Run and operate: docs/deploy.md.
ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: install exactly the lockfile, refuse to ship code that does not typecheck ------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# The prune keeps typescript and @types/node: they are production dependencies because a hot
# reload type-checks strategy modules at run time (README, "Hot reload").
RUN npm run typecheck \
 && npm prune --omit=dev --no-audit --no-fund

# --- runtime ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# nats-server: the supervisor starts it as a child from nats.conf (JetStream for the event
# log, the kill-level KV and the broker lease). tini: PID 1 must forward SIGTERM and reap
# children, which node as PID 1 does not do.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nats-server tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 orch \
 && useradd --system --uid 10001 --gid orch --home-dir /app --no-create-home --shell /usr/sbin/nologin orch

WORKDIR /app
ENV NODE_ENV=production
# Inside the container the metrics server must listen on every interface, or the published port
# shows nothing (loopback inside a container is the container's own). Publish it only on the
# host's loopback: -p 127.0.0.1:9464:9464 -p 127.0.0.1:9465:9465 (docs/deploy.md). Logs are JSON
# (stdout is not a terminal).
ENV ORCH_METRICS_HOST=0.0.0.0
# Code stays owned by root so the running process cannot modify it.
COPY --from=build /app /app
# Only the state directory (.orch: JetStream store, latched kill level) is writable.
RUN mkdir -p /app/.orch && chown orch:orch /app/.orch && chmod 0700 /app/.orch
VOLUME ["/app/.orch"]
# The registry and the strategies are the operator's: mount the registry's folder at
# /app/registry (not over /app/config: that holds code) and start with
# --config registry/strategies.yaml; each strategy folder under /app/strategies/<name> (next to
# the SDK they import), read-only; edits hot-reload. docs/deploy.md.

USER orch
# metrics, /healthz: the broker process's, the strategies process's
EXPOSE 9464 9465

# Node itself does the probe: the slim image has no curl, and this tests the same stack.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node","bin/orch.js","start"]

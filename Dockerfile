# syntax=docker/dockerfile:1
# One image build, one target per service: `docker build --target exporter|bridge|predictor .`
# (docker-compose.yml builds all three). Node 24 LTS on Debian bookworm, pinned by tag.

FROM node:24.11.1-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:24.11.1-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# A dedicated unprivileged user; its state folders exist in the image so named volumes mounted
# there start out owned by it.
RUN groupadd --system --gid 10001 floorsense \
  && useradd --system --uid 10001 --gid floorsense --home-dir /var/lib/floorsense --shell /usr/sbin/nologin floorsense \
  && mkdir -p /etc/floorsense /var/lib/floorsense/queue /var/lib/floorsense/models \
  && chown -R floorsense:floorsense /var/lib/floorsense
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
COPY --from=build /app/exporter/profiles ./exporter/profiles
USER floorsense
ENTRYPOINT ["node", "/app/bin/floorsense.js"]
# The health check asks the service's own /healthz on the port each target sets.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.FLOORSENSE_HEALTH_PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

FROM runtime AS exporter
ENV FLOORSENSE_HEALTH_PORT=9464
EXPOSE 9464
CMD ["exporter", "--config", "/etc/floorsense/edge.yaml"]

FROM runtime AS bridge
ENV FLOORSENSE_HEALTH_PORT=9465
EXPOSE 9465
CMD ["bridge", "--config", "/etc/floorsense/bridge.yaml"]

FROM runtime AS predictor
ENV FLOORSENSE_HEALTH_PORT=9467
EXPOSE 9467
CMD ["predictor", "--config", "/etc/floorsense/predictor.yaml"]

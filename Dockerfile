# Aerugo: multi-stage build. The build stage installs every dependency (argon2 is compiled: its
# prebuilt binary needs Node-API 10, which Node 20 lacks, so this stage needs python3, make and
# g++), compiles TypeScript, builds the web UI (Vite, into dist/web) and prunes the development
# dependencies. The runtime image carries only dist/ (server and UI), the production node_modules
# and the healthcheck script, needs no toolchain, and
# runs as the unprivileged "node" user (uid 1000).
#
# The base images are build arguments, e.g. for a mirror of Docker Hub (same Node version in both;
# glibc, /bin/sh and a "node" user in the runtime one):
#   --build-arg NODE_BUILD_IMAGE=mirror.example.com/library/node:20-bookworm
#   --build-arg NODE_IMAGE=mirror.example.com/library/node:20-bookworm-slim
ARG NODE_BUILD_IMAGE=node:20-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_BUILD_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
COPY scripts ./scripts
COPY api ./api
COPY web ./web
RUN npm run build:server && npm run build:web && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    LISTEN_ADDRESS=0.0.0.0:8080 \
    DATA_DIR=/data \
    UV_THREADPOOL_SIZE=8
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs
# DATA_DIR holds filesystem blobs and, without DATABASE_URL, the embedded PostgreSQL.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "scripts/healthcheck.mjs"]
CMD ["node", "dist/src/main.js"]

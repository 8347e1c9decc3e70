# syntax=docker/dockerfile:1
# scorecar: the scoring sidecar. Build from the repository root:
#   docker build -f docker/scorecar.Dockerfile -t scorecar:0.1.0 .
# Every `serve` flag is also read from SCORECAR_<FLAG> (for example SCORECAR_BACKEND,
# SCORECAR_SCORE_CACHE, SCORECAR_CACHE_KEY_SECRET): see `scorecar serve --help`.
# test/deploy/ checks this file: hadolint and dockerfile-utils lint it, and its ENTRYPOINT + CMD
# are run as a plain process with its ENV, probed on /health and stopped with SIGTERM.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Dependencies first, so that a source change does not re-install them. --ignore-scripts: the
# package's own `prepare` (the build) needs the sources, which are copied below.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY proto ./proto
COPY src ./src
COPY bench ./bench
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    SCORECAR_HOST=0.0.0.0 \
    SCORECAR_PORT=30001 \
    SCORECAR_GRPC_PORT=30002
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The node image's unprivileged user `node` (uid/gid 1000); nothing in /app is writable by it.
USER 1000:1000
EXPOSE 30001 30002
# /health is 200 while at least one backend is healthy (503 otherwise). The slim image has no
# curl, so the probe is a one-line fetch in node.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.SCORECAR_PORT||'30001')+'/health').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself; `serve` stops accepting, finishes what
# it has in flight and exits.
ENTRYPOINT ["node", "--min-semi-space-size=16", "--no-memory-reducer", "dist/src/cli/main.js"]
CMD ["serve"]

# syntax=docker/dockerfile:1
# switchyard's container image.
#   docker build -t switchyard .
#   docker run -v ./my-config.yaml:/etc/switchyard/switchyard.yaml:ro -v switchyard-data:/var/lib/switchyard \
#     -p 127.0.0.1:8545:8545 switchyard
# The image's own /etc/switchyard/switchyard.yaml is config/docker.yaml (the compose stack's
# nodes): mount yours over it. `docker run switchyard check --config …` runs the other command.
# Stop with more time than shutdown.graceMs + drainMs (25 s by default): `docker stop -t 30`.
# Checked as a file by test/deploy/dockerfile.test.ts (no Docker engine runs in CI).

# The Node 20 line the project supports (package.json engines); pin a patch tag or digest for
# reproducible builds: --build-arg NODE_IMAGE=node:20.x.y-bookworm-slim.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: every dependency, the native addon compiled from source, TypeScript compiled ----
FROM ${NODE_IMAGE} AS build
# better-sqlite3 (the broadcast journal) is a native addon built from source here, so no
# prebuilt binary is fetched at build time; the toolchain stays in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would compile before the sources are here, and no other
# dependency's install script is wanted; the one addon that needs building is rebuilt by name.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm_config_build_from_source=true npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY chains ./chains
# `npm run build` emits dist/ (src and chains, no devnet code). The EVM chain miner of the
# compose stack (src/devnet/evm-chain-miner.ts, Node built-ins only) is compiled on its own.
RUN npm run build \
 && npx tsc --target ES2022 --module NodeNext --moduleResolution NodeNext --strict --skipLibCheck --types node --rootDir . --outDir dist src/devnet/evm-chain-miner.ts
# Production dependencies only. --omit=optional as well: the only optional packages are
# typescript (valibot's optional peer, types only) and pg-cloudflare (Cloudflare Workers only).
# Of better-sqlite3 only the compiled addon is kept (not the SQLite sources and object files).
RUN npm prune --omit=dev --omit=optional --no-audit --no-fund \
 && cd node_modules/better-sqlite3 \
 && mv build/Release/better_sqlite3.node /tmp/ \
 && rm -rf build deps src \
 && mkdir -p build/Release \
 && mv /tmp/better_sqlite3.node build/Release/

# ---- production: Node, tini, the compiled code and its production dependencies ----
FROM ${NODE_IMAGE} AS production
# tini as PID 1: it forwards SIGTERM and SIGINT (graceful drain) and SIGHUP (config reload) to
# switchyard and reaps zombies. Node as PID 1 would have no default action for signals it does
# not handle. Not `tini -g`: with server.workers > 1 the primary alone takes signals and relays
# them to its workers.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
# package.json too: it makes dist/ ES modules ("type": "module").
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
COPY config/docker.yaml /etc/switchyard/switchyard.yaml
# The one directory switchyard writes (the journal, journal.path in config/docker.yaml); mount a
# volume there to keep it across containers. Everything else is root's and read-only to the app.
RUN mkdir -p /var/lib/switchyard && chown node:node /var/lib/switchyard
# The node image's unprivileged user (uid 1000).
USER node
EXPOSE 8545
# Liveness: /healthz answers while the process serves HTTP (/readyz is readiness: routable nodes,
# not draining). Node's own fetch, so the image needs no curl. Change the URL with server.port.
ENV SWITCHYARD_HEALTHCHECK_URL=http://127.0.0.1:8545/healthz
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.SWITCHYARD_HEALTHCHECK_URL, { signal: AbortSignal.timeout(3000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains (graceMs, then drainMs); a second one exits at once.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/src/cli.js"]
CMD ["--config", "/etc/switchyard/switchyard.yaml"]

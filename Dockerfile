# syntax=docker/dockerfile:1
# Gatehouse: the server and its command line in one image.
#   docker build -t gatehouse .
#   docker run -p 3000:3000 -v gatehouse-data:/data gatehouse                 (SQLite in /data)
#   docker run --rm -v gatehouse-data:/data gatehouse project list           (any CLI command)
# The build stage compiles the TypeScript sources (`npm run build`); the image runs the
# JavaScript in dist/ with the production dependencies only (`npm ci --omit=dev`).

FROM node:20-bookworm-slim AS deps
WORKDIR /app
# better-sqlite3 and @node-rs/argon2 ship prebuilt binaries for linux x64/arm64 (glibc); the
# compilers are only the fallback for a platform without one, and stay in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

FROM deps AS build
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# `npm run build`: the TypeScript, then the console's browser bundle (dist/src/console/app-assets/).
RUN npm run build

FROM node:20-bookworm-slim
# MALLOC_ARENA_MAX=2: glibc gives every thread that allocates its own arena, and each kept an
# Argon2id buffer (19 MiB) after the hash was done; two arenas share them (docs/decisions/0018-malloc-arena-max.md).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    HOST=0.0.0.0 \
    PORT=3000 \
    GATEHOUSE_DATABASE_URL=sqlite:/data/gatehouse.db
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist/src ./dist/src
# the passkey pages' script, bundled by esbuild when first served (docs/decisions/0096)
COPY browser ./browser
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM: stop accepting, finish requests in flight (up to 25 s), close storage, exit 0.
STOPSIGNAL SIGTERM
# UV_THREADPOOL_SIZE: libuv's pool as large as the hashing concurrency, so the pool bounds the
# Argon2id hashes and each thread has the next one waiting (docs/decisions/0030-libuv-pool-sized-to-hash-concurrency.md); it must be in
# the environment before node starts, hence the shell.
ENTRYPOINT ["/bin/sh", "-c", "export UV_THREADPOOL_SIZE=\"${UV_THREADPOOL_SIZE:-${GATEHOUSE_HASH_CONCURRENCY:-1}}\"; exec node dist/src/main.js \"$@\"", "gatehouse"]
CMD ["serve"]

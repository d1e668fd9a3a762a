# syntax=docker/dockerfile:1
# Gatehouse: the server and its command line in one image.
#   docker build -t gatehouse .
#   docker run -p 3000:3000 -v gatehouse-data:/data gatehouse                 (SQLite in /data)
#   docker run --rm -v gatehouse-data:/data gatehouse project list           (any CLI command)
# The TypeScript sources run through tsx, which is a runtime dependency in package.json, so
# `npm ci --omit=dev` keeps it and leaves the test and build tools out.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
# better-sqlite3 and @node-rs/argon2 ship prebuilt binaries for linux x64/arm64 (glibc); the
# compilers are only the fallback for a platform without one, and stay in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    GATEHOUSE_DATABASE_URL=sqlite:/data/gatehouse.db
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM: stop accepting, finish requests in flight (up to 25 s), close storage, exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/gatehouse.js"]
CMD ["serve"]

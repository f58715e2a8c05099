# askpanda: multi-stage image. The build stage compiles the TypeScript and the native SQLite
# binding; the runtime stage has only what `askpanda serve` needs and runs as the unprivileged
# `node` user. Written here but not built: these machines have no container engine (see README).
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY config ./config
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    ASKPANDA_DATA_DIR=/var/lib/askpanda \
    ASKPANDA_PORT=3000
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/config ./config
RUN mkdir -p /var/lib/askpanda && chown node:node /var/lib/askpanda
USER node
VOLUME ["/var/lib/askpanda"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.ASKPANDA_PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# SIGTERM reaches node directly (exec form): askpanda stops taking events and exits within 10 s.
CMD ["node", "--max-semi-space-size=2", "bin/askpanda.js", "serve"]

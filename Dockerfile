# syntax=docker/dockerfile:1
# One image recipe for the three apps; pick one with `--target ingester|scorer|dashboard`.
# TypeScript runs directly with tsx (the repo has no emit step), so the image keeps dev dependencies.

FROM node:20-bookworm-slim AS base
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false
WORKDIR /app

# Only the manifests first, so `npm ci` is cached until a dependency changes.
FROM base AS manifests
COPY . /src
RUN cd /src && find . -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /app \; \
    && cp package-lock.json /app/ && if [ -f .npmrc ]; then cp .npmrc /app/; fi

FROM base AS deps
COPY --from=manifests /app/ ./
# onnxruntime-node's install step would fetch optional CUDA libraries from outside the npm registry; its CPU
# binaries are in the package. npm ≥ 11.19 skips that step through package.json's allowScripts; the npm 10 of
# this base image does not know allowScripts, so it gets the package's documented switch here.
ENV ONNXRUNTIME_NODE_INSTALL=skip
RUN npm ci --include=dev --no-audit

FROM deps AS source
# Owned by the image's unprivileged user: the apps write state (.next, cursor files) under /app.
COPY --chown=node:node . .
USER node

FROM source AS ingester
CMD ["node", "--import", "tsx", "apps/ingester/src/main.ts"]

FROM source AS scorer
CMD ["node", "--import", "tsx", "apps/scorer/src/main.ts"]

FROM source AS dashboard
ENV HOST=0.0.0.0 PORT=3000
EXPOSE 3000
CMD ["node", "--import", "tsx", "apps/dashboard/src/main.ts"]

# syntax=docker/dockerfile:1
# volume-guard's image. Three stages so the runtime image holds only the compiled code, the production
# dependencies and Node itself: no compiler, no devDependencies (the `node` devDependency that pins Node for
# npm scripts stays in the build stage; the base image provides the same Node major), no npm.
#
#   docker build -t volume-guard:0.1.0 .
#
# test/support/dockerfile-steps.sh replays these steps in a clean directory (test/e2e/dockerfile.e2e.test.ts):
# keep every RUN here one it knows.
# Pinned by digest: a tag moves, a digest does not. Update both together (docker buildx imagetools inspect
# node:24-bookworm-slim); test/unit/supply-chain.test.ts refuses an image without a digest.
# node:24-bookworm-slim (Node 24.18.0 when pinned). Not the project's pin: the project pins Node 24.21.0
# (package.json's `node` devDependency), which npm scripts and the tests run, and which scripts/image.sh builds
# this Dockerfile on (a locally assembled base carrying node_modules' Node, under this tag without the digest).
# No registry is reachable where this was written, so the digest of a 24.21.0 image could not be fetched and
# checked: an image built from this digest runs Node 24.18.0, which the tests here have not run. Where a registry
# is reachable, pin node:24.21.0-bookworm-slim@<its digest> and change "24.18.0" above.
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

FROM ${NODE_IMAGE} AS build
# The npm registry to install from (npm reads it from the environment); unset = npm's default.
ARG NPM_CONFIG_REGISTRY
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts run in the image build: the only one the project allows is the `node` devDependency's,
# which downloads a Node the base image already has (tsc runs on the base image's Node).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS deps
ARG NPM_CONFIG_REGISTRY
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# npm and corepack are not needed to run volume-guard: fewer files, fewer CVEs.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Numeric, so Kubernetes' runAsNonRoot can verify it. Nothing is written outside /tmp: the root filesystem
# can be read-only.
USER 10001:10001
EXPOSE 8443 8080
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]

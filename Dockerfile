# The dataops image: the GitHub Action, the GitLab CI job and the webhook bot
# (`dataops serve`). Build it with BuildKit (the cache mounts below need it):
#
#   docker build -t dataops .                       # this machine's platform
#   docker buildx build --platform linux/amd64,linux/arm64 .   # what the release pushes
#
# DuckDB links in through cgo, so the binary is built with the C toolchain
# and linked statically on amd64 (with Go's own user and DNS lookups, which
# need no glibc at run time; arm64 links glibc, see below). The final image
# is Debian slim (GitLab CI runs the job's script with its shell) with the
# binary, git (for git packages) and the CA certificates.

# The build runs on the builder's own platform and cross-compiles for the
# target, so an arm64 image does not compile under emulation.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETARCH
ARG BUILDARCH
# The C cross-compiler, only when the target differs from the builder.
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    if [ "$TARGETARCH" != "$BUILDARCH" ]; then \
      case "$TARGETARCH" in \
        arm64) pkgs="gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross" ;; \
        amd64) pkgs="gcc-x86-64-linux-gnu g++-x86-64-linux-gnu libc6-dev-amd64-cross" ;; \
        *) echo "no cross-compiler for $TARGETARCH" >&2; exit 1 ;; \
      esac; \
      rm -f /etc/apt/apt.conf.d/docker-clean; \
      apt-get update -qq && apt-get install -y -qq --no-install-recommends $pkgs; \
    fi
ARG VERSION=dev
# go build downloads only the modules of the packages it compiles for this
# platform: one DuckDB binding, not the five that `go mod download` fetches.
# The module and build caches outlive the build, so a change to one package
# recompiles that package and links.
RUN --mount=type=bind,target=/src \
    --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    cd /src && \
    case "$TARGETARCH" in \
      "$BUILDARCH") cc=gcc; cxx=g++ ;; \
      arm64) cc=aarch64-linux-gnu-gcc; cxx=aarch64-linux-gnu-g++ ;; \
      amd64) cc=x86_64-linux-gnu-gcc; cxx=x86_64-linux-gnu-g++ ;; \
    esac && \
    # On arm64, Debian's static glibc cannot take DuckDB's GOT (its objects
    # address it with 15 bits: "too many GOT entries for -fpic"), so that
    # binary links glibc dynamically, the one of the final image.
    static="-extldflags -static" && \
    if [ "$TARGETARCH" = arm64 ]; then static=""; fi && \
    CGO_ENABLED=1 GOOS=linux GOARCH="$TARGETARCH" CC="$cc" CXX="$cxx" GOFLAGS=-buildvcs=false \
    go build -trimpath -tags osusergo,netgo \
      -ldflags "-s -w -X main.version=$VERSION -linkmode external $static" \
      -o /out/dataops ./cmd/dataops

# The binary alone, for the release's downloads:
#   docker buildx build --target binary --output type=local,dest=dist .
FROM scratch AS binary
COPY --from=build /out/dataops /dataops

FROM debian:bookworm-slim
# No USER: GitHub runs a container action as the image's user and mounts
# the workspace and file commands owned by the runner's uid, which only
# root can write (GitHub's Dockerfile support for Actions says to run as
# root). GitLab CI runs the job as the image's user too.
#
# The bot, started as root, reads its secrets and then runs as dataops
# (DATAOPS_USER); started as any other uid it runs as that uid. Its data
# folder belongs to dataops and to group 0 (setgid, group-writable), so an
# arbitrary uid in group 0, as OpenShift assigns, can write it too; a new
# named volume mounted there copies that ownership.
RUN echo 'dataops:x:10001:0:dataops bot:/var/lib/dataops:/usr/sbin/nologin' >>/etc/passwd \
 && install -d -o 10001 -g 0 -m 2775 /var/lib/dataops
# git fetches the git packages of a project's packages.yml (dbt deps); the
# hub's packages are tarballs. Nothing else: no recommends, no apt lists.
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends git \
 && rm -rf /usr/share/doc /usr/share/man /usr/share/locale
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/dataops /usr/local/bin/dataops
ENV DATAOPS_USER=10001:0 \
    DATAOPS_DATA_DIR=/var/lib/dataops
VOLUME /var/lib/dataops
# The runner and GitLab set their own working directory for the Action and
# the job; this one is the bot's, so a relative store: lands in the volume.
WORKDIR /var/lib/dataops
# dataops serve listens here (the Action does not listen at all).
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/dataops"]
CMD ["action"]

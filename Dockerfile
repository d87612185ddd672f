# The dataops GitHub Action and GitLab CI image. DuckDB links in through cgo,
# so the binary is built with the C toolchain and linked statically.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath \
      -ldflags '-s -w -linkmode external -extldflags "-static"' \
      -o /out/dataops ./cmd/dataops

FROM debian:bookworm-slim
# git reads revisions for dataops plan/check; ca-certificates for HTTPS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 dataops \
 && git config --system --add safe.directory '*'
COPY --from=build /out/dataops /usr/local/bin/dataops
USER dataops
# dataops serve listens here (the Action does not listen at all).
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/dataops"]
CMD ["action"]

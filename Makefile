# Rollcall. `make run` starts a server on SQLite; `make test` runs everything.
.PHONY: run test check build bench

run:
	go run ./cmd/rollcall

test:
	scripts/test.sh

# Fast checks without databases other than SQLite (PostgreSQL tests skip).
check:
	test -z "$$(gofmt -l .)"
	go vet ./...
	go tool staticcheck ./...
	go test -race -count=1 ./...

build:
	CGO_ENABLED=0 go build -o rollcall ./cmd/rollcall

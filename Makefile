# PlanoAuth: the commands a newcomer needs.
#   make run    the whole API on http://127.0.0.1:3000 (PORT=...) on a local DynamoDB/SES
#   make test   every check and test, against a fresh local stack

.PHONY: run test invoke lint build deploy bench load soak fuzz stack-up stack-down clean

run:
	scripts/run-local.sh

test:
	scripts/test.sh

# One function with a sample event, against the stack of a running `make run`:
#   make invoke EVENT=events/employees-update.json [FUNCTION=...] [INVOKE_WITH=rie|sam]
# rie (default): the function's binary under the Lambda Runtime Interface Emulator, no
# container; sam: `sam local invoke`, where a Docker engine is already running.
invoke:
	scripts/invoke.sh

# Every function for Lambda (arm64), in one release build; prints the artefacts' sizes,
# raw and zipped.
build:
	scripts/build.sh

# sam build, then a guided sam deploy (its answers are kept in samconfig.toml).
deploy:
	scripts/deploy.sh

# Every function's cold init (against a bare and a naive function), first call, warm
# latency, memory over 1,000 invocations, DynamoDB request units and their price, and
# the arm64 artefacts' zipped size when `make build` has run; then sign-in timing.
bench:
	scripts/bench.sh

# Concurrent clients against the local API, faults off and on: throughput, latency,
# statuses, and a check that no acknowledged write was lost. Not part of `make test`.
load:
	scripts/load.sh

# Whether the local stack stays fast and small as it fills: p50s at 1,000 and 100,000
# items, then MINUTES (default 30) of load with the stack's memory. Not part of make test.
soak:
	scripts/soak.sh

# The schema fuzzer alone, against a running stack: eval "$$(make -s stack-up)"; make fuzz
fuzz:
	scripts/fuzz.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

# The local stack alone, for running single tests: eval "$$(make -s stack-up)"
stack-up:
	@scripts/stack.sh up

stack-down:
	@scripts/stack.sh down

clean:
	scripts/stack.sh down
	rm -rf .local target

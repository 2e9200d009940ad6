# PlanoAuth: the commands a newcomer needs.
#   make run    the whole API on http://127.0.0.1:3000 (PORT=...) on a local DynamoDB/SES
#   make test   every check and test, against a fresh local stack

.PHONY: run test lint stack-up stack-down clean

run:
	scripts/run-local.sh

test:
	scripts/test.sh

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

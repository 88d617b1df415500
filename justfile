# Recipes mirror scripts/: each works without just, too.

# regenerate hodei_api/gen from protos/
proto:
    ./scripts/proto.sh

# set up, start hodeid + a worker, run the demo job
run:
    ./scripts/demo.sh

# lint, types, layering and the whole test suite
test *args:
    ./scripts/test.sh {{args}}

# lint and format check only
lint:
    ruff check . && ruff format --check . && mypy && lint-imports

# every benchmark in scripts/bench/ at a small size, each starting what it needs
bench:
    ./scripts/bench.sh

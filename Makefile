.PHONY: run test quick lint

run:    ## set up and serve on http://127.0.0.1:8000 (embedded SQLite)
	bash scripts/run.sh

test:   ## set up and run the whole suite against PostgreSQL and Redis
	bash scripts/test.sh

quick:  ## the quick subset (slow drills skipped)
	bash scripts/test.sh -m "not slow"

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy kernel $$(ls -d plugins/*/erp_* | grep -v egg-info)

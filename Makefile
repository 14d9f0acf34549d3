# The two commands a new user needs: `make demo` and `make test`.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: demo test deps build build-test bench clean

deps:
	@./scripts/install-deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
	cmake --build build -j $(JOBS)

demo: build
	./build/comptoir demo

build-test: deps
	cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DCOMPTOIR_SANITIZE=ON
	cmake --build build-test -j $(JOBS)

# The test suite includes the browser test, so its deps (and only its deps) bring Chromium and Node.
test: export COMPTOIR_WITH_BROWSER := 1
test: build-test
	cd build-test && ctest --output-on-failure -j $(JOBS) --timeout 600

bench: build
	@echo "benchmarks are in build/bench/; see docs/performance.md"

clean:
	rm -rf build build-test

#pragma once
/// The agent kinds Colony ships: specialist, router, aggregator, validator, pipeline.

namespace colony::agents {

/// Registers the built-in kinds (once; later calls do nothing). Thread-safe.
void register_builtin_kinds();

}  // namespace colony::agents

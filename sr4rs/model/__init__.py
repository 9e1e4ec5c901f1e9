"""Models as artifacts: the contract (several named inputs, each with its bands and resolution),
export to a SavedModel, loading and running one, and the bundled models. Imports no training code."""

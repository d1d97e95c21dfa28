// Package mlops is Metastation's model registry and deployment: registered
// models and their versions (artifacts stored by sha256 and verified on
// every load, with metrics, parameters, tags and lineage), aliases such as
// champion and challenger with an append-only history that answers which
// version an alias named at any time, batched serving with latency
// percentiles, sticky canaries, shadow traffic, and promotion and rollback
// decided by statistical tests, each decision kept in an audit log.
//
// It follows MLflow's registry (aliases rather than the deprecated stages)
// and Flagger's progressive delivery: a canary that regresses is rolled
// back (its traffic returns to the champion), one that beats the champion
// on held-out data is promoted.
//
// The package knows nothing of HTTP: the web layer calls Service's methods.
package mlops
